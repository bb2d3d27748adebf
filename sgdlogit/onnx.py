"""ONNX export of :class:`~sgdlogit.SGDLogitClassifier` through skl2onnx.

Call :func:`register` once, then convert with skl2onnx as usual::

    import sgdlogit.onnx
    from skl2onnx import to_onnx

    sgdlogit.onnx.register()
    onx = to_onnx(pipeline, X[:1].astype("float32"), options={"zipmap": False})

Importing this module does not import skl2onnx; :func:`register` does, and raises an
``ImportError`` naming the packages to install when it is missing.
"""

from sgdlogit._onnx import register

__all__ = ["register"]
