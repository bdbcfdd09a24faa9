"""Framework-free ML core of the model zoo: preprocessing, network, training, export, serving.

Deliberately import-free: serving must load without pulling in torch, so each
submodule is imported on its own (``from modelzoo.ml import serving``).
"""
