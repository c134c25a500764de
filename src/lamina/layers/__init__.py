"""Layers, by Keras name.

Example:
    >>> from lamina.layers import Dense, Dropout
"""

from lamina.layers.activations.prelu import PReLU as PReLU
from lamina.layers.activations.relu import ELU as ELU
from lamina.layers.activations.relu import LeakyReLU as LeakyReLU
from lamina.layers.activations.relu import ReLU as ReLU
from lamina.layers.activations.relu import ThresholdedReLU as ThresholdedReLU
from lamina.layers.activations.softmax import Softmax as Softmax
from lamina.layers.attention.additive_attention import AdditiveAttention as AdditiveAttention
from lamina.layers.attention.attention import Attention as Attention
from lamina.layers.attention.grouped_query_attention import GroupedQueryAttention as GroupedQueryAttention
from lamina.layers.attention.grouped_query_attention import GroupQueryAttention as GroupQueryAttention
from lamina.layers.attention.multi_head_attention import MultiHeadAttention as MultiHeadAttention
from lamina.layers.convolutional.base_conv import Conv1D as Conv1D
from lamina.layers.convolutional.base_conv import Conv2D as Conv2D
from lamina.layers.convolutional.base_conv import Conv3D as Conv3D
from lamina.layers.convolutional.conv_transpose import Conv1DTranspose as Conv1DTranspose
from lamina.layers.convolutional.conv_transpose import Conv2DTranspose as Conv2DTranspose
from lamina.layers.convolutional.conv_transpose import Conv3DTranspose as Conv3DTranspose
from lamina.layers.convolutional.depthwise_conv import DepthwiseConv1D as DepthwiseConv1D
from lamina.layers.convolutional.depthwise_conv import DepthwiseConv2D as DepthwiseConv2D
from lamina.layers.convolutional.separable_conv import SeparableConv1D as SeparableConv1D
from lamina.layers.convolutional.separable_conv import SeparableConv2D as SeparableConv2D
from lamina.layers.core.activation import Activation as Activation
from lamina.layers.core.dense import Dense as Dense
from lamina.layers.core.einsum_dense import EinsumDense as EinsumDense
from lamina.layers.core.embedding import Embedding as Embedding
from lamina.layers.core.identity import Identity as Identity
from lamina.layers.core.input_layer import Input as Input
from lamina.layers.core.input_layer import InputLayer as InputLayer
from lamina.layers.core.lambda_layer import Lambda as Lambda
from lamina.layers.core.masking import Masking as Masking
from lamina.layers.core.op_lambda import OpLambda as OpLambda
from lamina.layers.core.reversible_embedding import ReversibleEmbedding as ReversibleEmbedding
from lamina.layers.core.time_distributed import TimeDistributed as TimeDistributed
from lamina.layers.core.wrapper import Wrapper as Wrapper
from lamina.layers.input_spec import InputSpec as InputSpec
from lamina.layers.layer import Layer as Layer
from lamina.layers.locally_connected import LocallyConnected1D as LocallyConnected1D
from lamina.layers.locally_connected import LocallyConnected2D as LocallyConnected2D
from lamina.layers.merging.concatenate import Concatenate as Concatenate
from lamina.layers.merging.concatenate import concatenate as concatenate
from lamina.layers.merging.dot import Dot as Dot
from lamina.layers.merging.dot import dot as dot
from lamina.layers.merging.elementwise import Add as Add
from lamina.layers.merging.elementwise import Average as Average
from lamina.layers.merging.elementwise import Maximum as Maximum
from lamina.layers.merging.elementwise import Minimum as Minimum
from lamina.layers.merging.elementwise import Multiply as Multiply
from lamina.layers.merging.elementwise import Subtract as Subtract
from lamina.layers.merging.elementwise import add as add
from lamina.layers.merging.elementwise import average as average
from lamina.layers.merging.elementwise import maximum as maximum
from lamina.layers.merging.elementwise import minimum as minimum
from lamina.layers.merging.elementwise import multiply as multiply
from lamina.layers.merging.elementwise import subtract as subtract
from lamina.layers.normalization.batch_normalization import BatchNormalization as BatchNormalization
from lamina.layers.normalization.batch_normalization import SyncBatchNormalization as SyncBatchNormalization
from lamina.layers.normalization.group_normalization import GroupNormalization as GroupNormalization
from lamina.layers.normalization.layer_normalization import LayerNormalization as LayerNormalization
from lamina.layers.normalization.rms_normalization import RMSNormalization as RMSNormalization
from lamina.layers.normalization.spectral_normalization import SpectralNormalization as SpectralNormalization
from lamina.layers.normalization.unit_normalization import UnitNormalization as UnitNormalization
from lamina.layers.pooling.adaptive_pooling import AdaptiveAveragePooling1D as AdaptiveAveragePooling1D
from lamina.layers.pooling.adaptive_pooling import AdaptiveAveragePooling2D as AdaptiveAveragePooling2D
from lamina.layers.pooling.adaptive_pooling import AdaptiveAveragePooling3D as AdaptiveAveragePooling3D
from lamina.layers.pooling.adaptive_pooling import AdaptiveMaxPooling1D as AdaptiveMaxPooling1D
from lamina.layers.pooling.adaptive_pooling import AdaptiveMaxPooling2D as AdaptiveMaxPooling2D
from lamina.layers.pooling.adaptive_pooling import AdaptiveMaxPooling3D as AdaptiveMaxPooling3D
from lamina.layers.pooling.base_pooling import AveragePooling1D as AveragePooling1D
from lamina.layers.pooling.base_pooling import AveragePooling2D as AveragePooling2D
from lamina.layers.pooling.base_pooling import AveragePooling3D as AveragePooling3D
from lamina.layers.pooling.base_pooling import MaxPooling1D as MaxPooling1D
from lamina.layers.pooling.base_pooling import MaxPooling2D as MaxPooling2D
from lamina.layers.pooling.base_pooling import MaxPooling3D as MaxPooling3D
from lamina.layers.pooling.global_pooling import GlobalAveragePooling1D as GlobalAveragePooling1D
from lamina.layers.pooling.global_pooling import GlobalAveragePooling2D as GlobalAveragePooling2D
from lamina.layers.pooling.global_pooling import GlobalAveragePooling3D as GlobalAveragePooling3D
from lamina.layers.pooling.global_pooling import GlobalMaxPooling1D as GlobalMaxPooling1D
from lamina.layers.pooling.global_pooling import GlobalMaxPooling2D as GlobalMaxPooling2D
from lamina.layers.pooling.global_pooling import GlobalMaxPooling3D as GlobalMaxPooling3D
from lamina.layers.preprocessing.audio import MelSpectrogram as MelSpectrogram
from lamina.layers.preprocessing.audio import STFTSpectrogram as STFTSpectrogram
from lamina.layers.preprocessing.category_encoding import CategoryEncoding as CategoryEncoding
from lamina.layers.preprocessing.discretization import Discretization as Discretization
from lamina.layers.preprocessing.hashing import HashedCrossing as HashedCrossing
from lamina.layers.preprocessing.hashing import Hashing as Hashing
from lamina.layers.preprocessing.image_augmentation import AugMix as AugMix
from lamina.layers.preprocessing.image_augmentation import AutoContrast as AutoContrast
from lamina.layers.preprocessing.image_augmentation import (
    ContrastLimitedAdaptiveHistogramEqualization as ContrastLimitedAdaptiveHistogramEqualization,
)
from lamina.layers.preprocessing.image_augmentation import CutMix as CutMix
from lamina.layers.preprocessing.image_augmentation import Equalization as Equalization
from lamina.layers.preprocessing.image_augmentation import MaxNumBoundingBoxes as MaxNumBoundingBoxes
from lamina.layers.preprocessing.image_augmentation import MixUp as MixUp
from lamina.layers.preprocessing.image_augmentation import Pipeline as Pipeline
from lamina.layers.preprocessing.image_augmentation import RandAugment as RandAugment
from lamina.layers.preprocessing.image_augmentation import RandomBrightness as RandomBrightness
from lamina.layers.preprocessing.image_augmentation import RandomColorDegeneration as RandomColorDegeneration
from lamina.layers.preprocessing.image_augmentation import RandomColorJitter as RandomColorJitter
from lamina.layers.preprocessing.image_augmentation import RandomContrast as RandomContrast
from lamina.layers.preprocessing.image_augmentation import RandomCrop as RandomCrop
from lamina.layers.preprocessing.image_augmentation import RandomElasticTransform as RandomElasticTransform
from lamina.layers.preprocessing.image_augmentation import RandomErasing as RandomErasing
from lamina.layers.preprocessing.image_augmentation import RandomFlip as RandomFlip
from lamina.layers.preprocessing.image_augmentation import RandomGaussianBlur as RandomGaussianBlur
from lamina.layers.preprocessing.image_augmentation import RandomGrayscale as RandomGrayscale
from lamina.layers.preprocessing.image_augmentation import RandomHeight as RandomHeight
from lamina.layers.preprocessing.image_augmentation import RandomHue as RandomHue
from lamina.layers.preprocessing.image_augmentation import RandomInvert as RandomInvert
from lamina.layers.preprocessing.image_augmentation import RandomPerspective as RandomPerspective
from lamina.layers.preprocessing.image_augmentation import RandomPosterization as RandomPosterization
from lamina.layers.preprocessing.image_augmentation import RandomRotation as RandomRotation
from lamina.layers.preprocessing.image_augmentation import RandomSaturation as RandomSaturation
from lamina.layers.preprocessing.image_augmentation import RandomSharpness as RandomSharpness
from lamina.layers.preprocessing.image_augmentation import RandomShear as RandomShear
from lamina.layers.preprocessing.image_augmentation import RandomTranslation as RandomTranslation
from lamina.layers.preprocessing.image_augmentation import RandomWidth as RandomWidth
from lamina.layers.preprocessing.image_augmentation import RandomZoom as RandomZoom
from lamina.layers.preprocessing.image_augmentation import Solarization as Solarization
from lamina.layers.preprocessing.integer_lookup import IntegerLookup as IntegerLookup
from lamina.layers.preprocessing.normalization import Normalization as Normalization
from lamina.layers.preprocessing.rescaling import Rescaling as Rescaling
from lamina.layers.preprocessing.resizing import CenterCrop as CenterCrop
from lamina.layers.preprocessing.resizing import Resizing as Resizing
from lamina.layers.preprocessing.string_lookup import StringLookup as StringLookup
from lamina.layers.preprocessing.text_vectorization import TextVectorization as TextVectorization
from lamina.layers.random_fourier_features import RandomFourierFeatures as RandomFourierFeatures
from lamina.layers.recurrent.abstract_rnn_cell import AbstractRNNCell as AbstractRNNCell
from lamina.layers.recurrent.bidirectional import Bidirectional as Bidirectional
from lamina.layers.recurrent.conv_lstm import ConvLSTM1D as ConvLSTM1D
from lamina.layers.recurrent.conv_lstm import ConvLSTM2D as ConvLSTM2D
from lamina.layers.recurrent.conv_lstm import ConvLSTM2DCell as ConvLSTM2DCell
from lamina.layers.recurrent.conv_lstm import ConvLSTM3D as ConvLSTM3D
from lamina.layers.recurrent.cudnn_recurrent import CuDNNGRU as CuDNNGRU
from lamina.layers.recurrent.cudnn_recurrent import CuDNNLSTM as CuDNNLSTM
from lamina.layers.recurrent.gru import GRU as GRU
from lamina.layers.recurrent.gru import GRUCell as GRUCell
from lamina.layers.recurrent.lstm import LSTM as LSTM
from lamina.layers.recurrent.lstm import LSTMCell as LSTMCell
from lamina.layers.recurrent.rnn import RNN as RNN
from lamina.layers.recurrent.simple_rnn import SimpleRNN as SimpleRNN
from lamina.layers.recurrent.simple_rnn import SimpleRNNCell as SimpleRNNCell
from lamina.layers.recurrent.stacked_rnn_cells import StackedRNNCells as StackedRNNCells
from lamina.layers.regularization.activity_regularization import ActivityRegularization as ActivityRegularization
from lamina.layers.regularization.dropout import Dropout as Dropout
from lamina.layers.regularization.noise import AlphaDropout as AlphaDropout
from lamina.layers.regularization.noise import GaussianDropout as GaussianDropout
from lamina.layers.regularization.noise import GaussianNoise as GaussianNoise
from lamina.layers.regularization.spatial_dropout import SpatialDropout1D as SpatialDropout1D
from lamina.layers.regularization.spatial_dropout import SpatialDropout2D as SpatialDropout2D
from lamina.layers.regularization.spatial_dropout import SpatialDropout3D as SpatialDropout3D
from lamina.layers.reshaping.cropping import Cropping1D as Cropping1D
from lamina.layers.reshaping.cropping import Cropping2D as Cropping2D
from lamina.layers.reshaping.cropping import Cropping3D as Cropping3D
from lamina.layers.reshaping.flatten import Flatten as Flatten
from lamina.layers.reshaping.permute import Permute as Permute
from lamina.layers.reshaping.repeat_vector import RepeatVector as RepeatVector
from lamina.layers.reshaping.reshape import Reshape as Reshape
from lamina.layers.reshaping.up_sampling import UpSampling1D as UpSampling1D
from lamina.layers.reshaping.up_sampling import UpSampling2D as UpSampling2D
from lamina.layers.reshaping.up_sampling import UpSampling3D as UpSampling3D
from lamina.layers.reshaping.zero_padding import ZeroPadding1D as ZeroPadding1D
from lamina.layers.reshaping.zero_padding import ZeroPadding2D as ZeroPadding2D
from lamina.layers.reshaping.zero_padding import ZeroPadding3D as ZeroPadding3D

MaxPool2D = MaxPooling2D
Convolution2D = Conv2D

# Keras 2 and Keras 3 aliases of the convolution and pooling layers.
Convolution1D = Conv1D
Convolution3D = Conv3D
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Deconvolution2D = Deconv2D = Conv2DTranspose
Convolution3DTranspose = Deconvolution3D = Deconv3D = Conv3DTranspose
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D
MaxPool1D = MaxPooling1D
MaxPool3D = MaxPooling3D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
AvgPool3D = AveragePooling3D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalMaxPool3D = GlobalMaxPooling3D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
