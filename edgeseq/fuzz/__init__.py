"""`edgeseq fuzz`: differential testing of exported files on generated inputs (inputs.py), every runtime and
kernel setting against the reference and against each other (engine.py), disagreements shrunk to small
reproducers (shrink.py) that replay.py runs again. Importing this package never imports TensorFlow."""
