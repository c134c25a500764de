"""The one table of Keras 2.3.1 and tf.keras 2.x module paths, and where lamina keeps each name.

Each key is a module path below `keras` (the same path serves `tensorflow.keras`). Its value names the lamina
modules to look names up in, in order, and the names the Keras 2 module exported. A name is written `name`
(looked up under the same name) or `name=attribute` (a Keras 2 alias of a lamina name). `*` also forwards every
public name of the first source. A name that no source has yet is left out of the module (see
`lamina.compat.missing_names`), so names that lamina gains later appear without touching this table.

Example:
    >>> KERAS2_MODULES["layers.noise"].names
    ('GaussianNoise', 'GaussianDropout', 'AlphaDropout')
"""

from __future__ import annotations

from typing import NamedTuple


class Keras2Module(NamedTuple):
    """One Keras 2 module: where its names live in lamina, and which names it exported."""

    sources: tuple[str, ...]
    names: tuple[str, ...] = ()


def _module(sources: str, names: str = "") -> Keras2Module:
    return Keras2Module(tuple(sources.split()), tuple(names.split()))


_CONV = (
    "Conv1D Conv2D Conv3D Conv2DTranspose Conv3DTranspose SeparableConv1D SeparableConv2D DepthwiseConv2D "
    "Convolution1D Convolution2D Convolution3D SeparableConvolution1D SeparableConvolution2D "
    "Convolution2DTranspose Convolution3DTranspose Deconvolution2D Deconvolution3D Deconv2D Deconv3D "
    "Cropping1D Cropping2D Cropping3D UpSampling1D UpSampling2D UpSampling3D ZeroPadding1D ZeroPadding2D ZeroPadding3D "
    # Keras 2 kept the pooling layers importable from here for old code.
    "MaxPooling1D MaxPooling2D MaxPooling3D AveragePooling1D AveragePooling2D AveragePooling3D"
)
_ATROUS = "AtrousConvolution1D AtrousConvolution2D"  # Keras 2.3.1 kept them importable from keras.layers
_POOLING = (
    "MaxPooling1D MaxPooling2D MaxPooling3D AveragePooling1D AveragePooling2D AveragePooling3D "
    "GlobalMaxPooling1D GlobalMaxPooling2D GlobalMaxPooling3D GlobalAveragePooling1D GlobalAveragePooling2D "
    "GlobalAveragePooling3D MaxPool1D MaxPool2D MaxPool3D AvgPool1D AvgPool2D AvgPool3D GlobalMaxPool1D "
    "GlobalMaxPool2D GlobalMaxPool3D GlobalAvgPool1D GlobalAvgPool2D GlobalAvgPool3D"
)
_MERGE = (
    "Add Subtract Multiply Average Maximum Minimum Concatenate Dot "
    "add subtract multiply average maximum minimum concatenate dot"
)
_INITIALIZER_ALIASES = (
    "zero=Zeros zeros=Zeros one=Ones ones=Ones constant=Constant uniform=RandomUniform random_uniform=RandomUniform "
    "normal=RandomNormal random_normal=RandomNormal truncated_normal=TruncatedNormal identity=Identity "
    "orthogonal=Orthogonal variance_scaling=VarianceScaling glorot_uniform=GlorotUniform "
    "glorot_normal=GlorotNormal he_uniform=HeUniform he_normal=HeNormal lecun_uniform=LecunUniform "
    "lecun_normal=LecunNormal"
)
_PREPROCESSING_LAYERS = (
    "Rescaling Resizing CenterCrop Normalization Discretization CategoryEncoding Hashing StringLookup "
    "IntegerLookup TextVectorization RandomCrop RandomFlip RandomTranslation RandomRotation RandomZoom "
    "RandomHeight RandomWidth RandomContrast RandomBrightness"
)
_ENGINE = "Layer InputSpec Input InputLayer Model Network=Functional get_source_inputs"
_UTILS_SOURCES = (
    "lamina.utils lamina.utils.file_utils lamina.utils.sequence lamina.utils.numerical_utils "
    "lamina.saving.object_registration lamina.utils.io_utils"
)

KERAS2_MODULES: dict[str, Keras2Module] = {
    # ---------------------------------------------------------------------------------- keras.layers.*
    "layers": _module("lamina.layers lamina.compat.legacy_layers", "* " + _PREPROCESSING_LAYERS + " " + _ATROUS),
    "layers.core": _module(
        "lamina.layers",
        "Dense Dropout Activation Flatten Reshape Permute RepeatVector Lambda ActivityRegularization Masking "
        "SpatialDropout1D SpatialDropout2D SpatialDropout3D Layer InputSpec",
    ),
    "layers.convolutional": _module("lamina.layers lamina.compat.legacy_layers", _CONV + " " + _ATROUS),
    "layers.convolutional_recurrent": _module("lamina.layers", "ConvLSTM2D ConvLSTM2DCell"),
    "layers.pooling": _module("lamina.layers", _POOLING),
    "layers.normalization": _module("lamina.layers", "BatchNormalization LayerNormalization"),
    "layers.recurrent": _module(
        "lamina.layers", "RNN SimpleRNN GRU LSTM SimpleRNNCell GRUCell LSTMCell StackedRNNCells AbstractRNNCell"
    ),
    "layers.cudnn_recurrent": _module("lamina.layers", "CuDNNGRU CuDNNLSTM"),
    "layers.embeddings": _module("lamina.layers", "Embedding"),
    "layers.advanced_activations": _module("lamina.layers", "LeakyReLU PReLU ELU ThresholdedReLU Softmax ReLU"),
    "layers.merge": _module("lamina.layers", _MERGE),
    "layers.noise": _module("lamina.layers", "GaussianNoise GaussianDropout AlphaDropout"),
    "layers.local": _module("lamina.layers", "LocallyConnected1D LocallyConnected2D"),
    "layers.wrappers": _module("lamina.layers", "Wrapper Bidirectional TimeDistributed"),
    # tf.keras 2.x kept its preprocessing layers here before they moved to `layers`.
    "layers.experimental": _module("lamina.layers", "RandomFourierFeatures SyncBatchNormalization EinsumDense"),
    "layers.experimental.preprocessing": _module("lamina.layers", _PREPROCESSING_LAYERS),
    # ------------------------------------------------------------------------------------- keras.engine
    "engine": _module("lamina.layers lamina.models lamina.utils", _ENGINE),
    "engine.topology": _module("lamina.layers lamina.models lamina.utils lamina.layers.node", _ENGINE + " Node"),
    "engine.network": _module("lamina.layers lamina.models lamina.utils", "Network=Functional get_source_inputs"),
    "engine.training": _module("lamina.models", "Model"),
    "engine.base_layer": _module("lamina.layers lamina.layers.node", "Layer InputSpec Node"),
    "engine.input_layer": _module("lamina.layers", "Input InputLayer"),
    "engine.sequential": _module("lamina.models", "Sequential"),
    # ---------------------------------------------------------------------------------- models, utils
    "models": _module(
        "lamina.models lamina.layers",
        "* Model Sequential Network=Functional Input InputLayer load_model save_model model_from_config "
        "model_from_json model_from_yaml clone_model",
    ),
    "utils": _module(
        _UTILS_SOURCES + " lamina.models.summary lamina.utils.model_visualization",
        "* to_categorical normalize Progbar Sequence get_file HDF5Matrix CustomObjectScope custom_object_scope "
        "get_custom_objects serialize_keras_object deserialize_keras_object plot_model model_to_dot print_summary "
        "get_source_inputs multi_gpu_model convert_all_kernels_in_model OrderedEnqueuer GeneratorEnqueuer "
        "SequenceEnqueuer",
    ),
    "utils.np_utils": _module("lamina.utils", "to_categorical normalize"),
    "utils.generic_utils": _module(
        _UTILS_SOURCES + " lamina.utils.generic_utils",
        "Progbar CustomObjectScope custom_object_scope get_custom_objects serialize_keras_object "
        "deserialize_keras_object func_dump func_load has_arg to_list unpack_singleton",
    ),
    "utils.data_utils": _module(
        _UTILS_SOURCES, "get_file Sequence OrderedEnqueuer GeneratorEnqueuer SequenceEnqueuer validate_file"
    ),
    "utils.layer_utils": _module(
        "lamina.utils.layer_utils lamina.models.summary lamina.utils",
        "print_summary convert_all_kernels_in_model convert_dense_weights_data_format get_source_inputs count_params",
    ),
    "utils.vis_utils": _module("lamina.utils lamina.utils.model_visualization", "plot_model model_to_dot"),
    "utils.io_utils": _module(
        "lamina.utils.io_utils lamina.utils.h5_dict", "HDF5Matrix ask_to_proceed_with_overwrite H5Dict"
    ),
    "utils.conv_utils": _module(
        "lamina.utils.layer_utils lamina.utils.conv_utils",
        "convert_kernel normalize_tuple normalize_data_format normalize_padding conv_output_length "
        "conv_input_length deconv_length",
    ),
    "utils.multi_gpu_utils": _module("lamina.utils", "multi_gpu_model"),
    # --------------------------------------------------------------------- callbacks, losses, initializers
    "callbacks": _module("lamina.callbacks", "*"),
    "callbacks.callbacks": _module("lamina.callbacks", "*"),
    "objectives": _module("lamina.losses", "*"),
    "initializers": _module("lamina.initializers", "* " + _INITIALIZER_ALIASES),
    # Keras 2 named each optimizer in lowercase too; tf.keras 2.11+ kept the old ones under `legacy`.
    "optimizers": _module(
        "lamina.optimizers",
        "* sgd=SGD rmsprop=RMSprop adagrad=Adagrad adadelta=Adadelta adam=Adam adamax=Adamax nadam=Nadam",
    ),
    "optimizers.legacy": _module("lamina.optimizers", "SGD RMSprop Adagrad Adadelta Adam Adamax Nadam Ftrl Optimizer"),
    # Keras 2.3.1's Keras 1 support: the argument-converting decorators, and the atrous convolutions.
    "legacy": _module(""),
    "legacy.interfaces": _module("lamina.compat.legacy_interfaces", "*"),
    "legacy.layers": _module(
        "lamina.compat.legacy_layers", "AtrousConvolution1D AtrousConvolution2D Highway MaxoutDense Recurrent"
    ),
}
