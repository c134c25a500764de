"""Utilities: seeding, to_categorical, the progress bar, nested structures, Sequence and HDF5Matrix.

Example:
    >>> lamina.utils.set_random_seed(1337)
"""

from lamina.preprocessing._image_files import array_to_img as array_to_img
from lamina.preprocessing._image_files import img_to_array as img_to_array
from lamina.preprocessing._image_files import load_img as load_img
from lamina.preprocessing._image_files import save_img as save_img
from lamina.saving.object_registration import CustomObjectScope as CustomObjectScope
from lamina.saving.object_registration import custom_object_scope as custom_object_scope
from lamina.saving.object_registration import get_custom_objects as get_custom_objects
from lamina.saving.object_registration import get_registered_name as get_registered_name
from lamina.saving.object_registration import get_registered_object as get_registered_object
from lamina.saving.object_registration import register_keras_serializable as register_keras_serializable
from lamina.utils.data_enqueuers import GeneratorEnqueuer as GeneratorEnqueuer
from lamina.utils.data_enqueuers import OrderedEnqueuer as OrderedEnqueuer
from lamina.utils.data_enqueuers import SequenceEnqueuer as SequenceEnqueuer
from lamina.utils.dataset_utils import text_dataset_from_directory as text_dataset_from_directory
from lamina.utils.file_utils import get_file as get_file
from lamina.utils.file_utils import hash_file as hash_file
from lamina.utils.file_utils import validate_file as validate_file
from lamina.utils.generic_utils import deserialize_keras_object as deserialize_keras_object
from lamina.utils.generic_utils import get_source_inputs as get_source_inputs
from lamina.utils.generic_utils import has_arg as has_arg
from lamina.utils.generic_utils import pack_x_y_sample_weight as pack_x_y_sample_weight
from lamina.utils.generic_utils import print_summary as print_summary
from lamina.utils.generic_utils import serialize_keras_object as serialize_keras_object
from lamina.utils.generic_utils import to_list as to_list
from lamina.utils.generic_utils import unpack_singleton as unpack_singleton
from lamina.utils.generic_utils import unpack_x_y_sample_weight as unpack_x_y_sample_weight
from lamina.utils.image_dataset_utils import image_dataset_from_directory as image_dataset_from_directory
from lamina.utils.io_utils import HDF5Matrix as HDF5Matrix
from lamina.utils.layer_utils import convert_all_kernels_in_model as convert_all_kernels_in_model
from lamina.utils.model_visualization import model_to_dot as model_to_dot
from lamina.utils.model_visualization import plot_model as plot_model
from lamina.utils.multi_gpu_utils import multi_gpu_model as multi_gpu_model
from lamina.utils.numerical_utils import normalize as normalize
from lamina.utils.numerical_utils import to_categorical as to_categorical
from lamina.utils.progbar import Progbar as Progbar
from lamina.utils.random import set_random_seed as set_random_seed
from lamina.utils.sequence import Sequence as Sequence
from lamina.utils.sequence_utils import pad_sequences as pad_sequences
from lamina.utils.timeseries_dataset_utils import split_dataset as split_dataset
from lamina.utils.timeseries_dataset_utils import timeseries_dataset_from_array as timeseries_dataset_from_array
