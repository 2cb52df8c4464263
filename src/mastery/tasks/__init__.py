"""What a model learns and how it is scored; the trainer is generic over these."""

from mastery.tasks.classification import ClassificationTask, Task, build_task

__all__ = ["ClassificationTask", "Task", "build_task"]
