"""The foundations every stage uses: errors and one-line messages (errors), names and paths (layout), atomic
writes and JSON (fileio), the one typed manifest (manifest), worker processes (procs), progress, result rows
(rows), the environment a figure was measured in (environment), quiet native logs (quiet), TensorFlow imported
only when needed (tfsupport), plotting set-up, and files read without a runtime (tflite_schema, keras_archive).
Nothing here imports a stage (the manifest reads the data contract and the recipes table)."""
