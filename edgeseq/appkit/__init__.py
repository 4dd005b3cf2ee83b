"""What an app developer takes away: `pack` (one exported file with its labels, manifest, golden test vectors and
example code per platform, generated from the file's own tensors) and `demo` (a static page that runs step
models in the browser with onnxruntime-web, one row at a time).

spec.py reads what an app must know about a file (its tensors, in the file's own order, by name); vectors.py
picks the golden test vectors; code.py renders the example code from templates/; pack.py and demo.py write the
folders. Nothing here imports TensorFlow or runs a model.
"""
