"""ONNX export: a skl2onnx shape calculator and converter for SGDLogitClassifier.

The graph computes the decision values ``X @ coef_.T + intercept_`` (``MatMul``, ``Add``),
the probabilities with ``Softmax`` and the labels by ``Gather`` of ``classes_`` at the
``ArgMax`` of the decision values. A binary model gets the logits ``(0, z)``: the softmax of
those is ``(sigmoid(-z), sigmoid(z))`` with both columns exact near 0 (onnxruntime's
``Sigmoid``, and ``1 - p``, round probabilities below about 1e-8 to 0), and ``ArgMax``
picks class 1 for ``z > 0`` only, as ``predict``. The graph runs in the precision of the
input: float32 inputs use float32 weights, float64 inputs float64 ones.
"""

import numpy as np

from sgdlogit._classifier import SGDLogitClassifier, _dense_coef

#: Alias of the model in skl2onnx's registry.
ALIAS = "SgdlogitSGDLogitClassifier"

_MISSING = (
    "ONNX export needs skl2onnx (and onnxruntime to run the exported model): "
    "pip install skl2onnx onnxruntime"
)


def register():
    """Register the converter of :class:`~sgdlogit.SGDLogitClassifier` with skl2onnx.

    After this call, :func:`skl2onnx.to_onnx` and :func:`skl2onnx.convert_sklearn`
    convert an ``SGDLogitClassifier``, alone or inside a pipeline, to ONNX, with the
    outputs of skl2onnx's classifiers: ``label`` and ``probabilities`` (a ZipMap of
    probabilities unless ``options={"zipmap": False}``). Calling it again does nothing new.

    Raises
    ------
    ImportError
        If skl2onnx is not installed.
    """
    try:
        from skl2onnx import update_registered_converter
        from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    update_registered_converter(
        SGDLogitClassifier,
        ALIAS,
        calculate_linear_classifier_output_shapes,
        _convert,
        options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
    )


def _convert(scope, operator, container):
    """Add the nodes computing ``label`` and ``probabilities`` of one classifier."""
    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    from skl2onnx.common.utils_classifier import get_label_classes

    model = operator.raw_operator
    X = operator.inputs[0]
    label, probabilities = operator.outputs[0].full_name, operator.outputs[1].full_name
    double = isinstance(X.type, DoubleTensorType)
    proto, dtype = (TensorProto.DOUBLE, np.float64) if double else (TensorProto.FLOAT, np.float32)

    def name(hint):
        return scope.get_unique_variable_name(hint)

    def node(op_type, inputs, output_hint=None, output=None, **attrs):
        output = output or name(output_hint)
        container.add_node(
            op_type, inputs, output, name=scope.get_unique_operator_name(op_type), **attrs
        )
        return output

    def constant(hint, values, onnx_type=proto):
        values = np.asarray(values)
        tensor = name(hint)
        container.add_initializer(tensor, onnx_type, list(values.shape), values.ravel().tolist())
        return tensor

    inputs = X.full_name
    if not isinstance(X.type, (DoubleTensorType, FloatTensorType)):
        inputs = node("Cast", [inputs], "cast_input", to=proto)
    coef_ = _dense_coef(model.coef_)
    intercept_ = np.asarray(model.intercept_)
    if coef_.shape[0] == 1:  # logits (0, z) for the classes (0, 1)
        coef_ = np.vstack([np.zeros_like(coef_), coef_])
        intercept_ = np.concatenate([np.zeros_like(intercept_), intercept_])
    coef = constant("coef", coef_.astype(dtype).T)
    intercept = constant("intercept", intercept_.astype(dtype))
    decision = node("Add", [node("MatMul", [inputs, coef], "matmul"), intercept], "decision")
    node("Softmax", [decision], output=probabilities, axis=1)
    index = node("ArgMax", [decision], "index", axis=1, keepdims=0)

    classes = np.asarray(get_label_classes(scope, model))
    if classes.dtype.kind in "OUS":
        labels = constant(
            "classes", np.array([str(c).encode("utf-8") for c in classes]), TensorProto.STRING
        )
    else:
        as_int64 = classes.astype(np.int64)
        if as_int64.tolist() != [int(c) for c in classes]:  # exact, as Python integers
            raise ValueError(
                f"The classes {classes.tolist()} do not fit in ONNX's int64 labels; fit "
                "on labels that do, or on strings."
            )
        labels = constant("classes", as_int64, TensorProto.INT64)
    node("Gather", [labels, index], output=label, axis=0)
