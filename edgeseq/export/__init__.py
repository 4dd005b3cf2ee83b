"""Export: trained Keras models to TFLite and ONNX files, one recipe at a time, each conversion in a worker
process (`export.worker`), each file checked and committed together with its manifest (`export.exporter`).
The converters (`tflite`, `onnx`, `fused_lstm`) import TensorFlow: import them only inside the worker."""
