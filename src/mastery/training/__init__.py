"""One generic trainer and its parts: optimisers, schedules, init, devices, checkpoints."""
