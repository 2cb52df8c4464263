"""Serving (textbook ch. 10): the champion's ONNX export behind FastAPI and ONNX Runtime.

`mastery serve -p P` loads the registry's `@champion` (verified by sha256, ONNX only),
builds its request schema from the contract the file carries, logs every prediction, and
follows the champion alias as it moves. Importing this package is cheap: FastAPI, ONNX
Runtime and MLflow load in the modules that use them.
"""
