"""Great Expectations suites over raw data: a failure stops the run and names what broke."""

from mastery.validation.raw import DataValidationError, validate_raw

__all__ = ["DataValidationError", "validate_raw"]
