"""The trained reading model: question + passage -> best span and no-answer score.

``features`` turns text into model inputs and outputs into spans (shared by training and
question time), ``model`` assembles and runs the shipped weights with onnxruntime, ``train``
fine-tunes them (``make reader``). The weights, their training record and the model card are in
``weights/``.
"""
