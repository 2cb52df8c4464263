"""The Prefect door: flows that sequence the library's steps as tasks, nothing more."""
