"""What a model learns and how it is scored (one module per task); the trainer is generic over these."""

from mastery.tasks.base import Batch, Task
from mastery.tasks.metrics import Metric, MetricTable
from mastery.tasks.registry import build_task, list_tasks, register_task

__all__ = ["Batch", "Metric", "MetricTable", "Task", "build_task", "list_tasks", "register_task"]
