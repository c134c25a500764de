"""Image augmentation layers, by Keras name (active in training, identity at inference unless noted).

Example:
    >>> from lamina.layers import RandomFlip, RandomRotation
"""

from lamina.layers.preprocessing.image_augmentation.clahe import (
    ContrastLimitedAdaptiveHistogramEqualization as ContrastLimitedAdaptiveHistogramEqualization,
)
from lamina.layers.preprocessing.image_augmentation.color import AutoContrast as AutoContrast
from lamina.layers.preprocessing.image_augmentation.color import Equalization as Equalization
from lamina.layers.preprocessing.image_augmentation.color import RandomBrightness as RandomBrightness
from lamina.layers.preprocessing.image_augmentation.color import RandomColorDegeneration as RandomColorDegeneration
from lamina.layers.preprocessing.image_augmentation.color import RandomColorJitter as RandomColorJitter
from lamina.layers.preprocessing.image_augmentation.color import RandomContrast as RandomContrast
from lamina.layers.preprocessing.image_augmentation.color import RandomGrayscale as RandomGrayscale
from lamina.layers.preprocessing.image_augmentation.color import RandomHue as RandomHue
from lamina.layers.preprocessing.image_augmentation.color import RandomInvert as RandomInvert
from lamina.layers.preprocessing.image_augmentation.color import RandomPosterization as RandomPosterization
from lamina.layers.preprocessing.image_augmentation.color import RandomSaturation as RandomSaturation
from lamina.layers.preprocessing.image_augmentation.color import RandomSharpness as RandomSharpness
from lamina.layers.preprocessing.image_augmentation.color import Solarization as Solarization
from lamina.layers.preprocessing.image_augmentation.composite import AugMix as AugMix
from lamina.layers.preprocessing.image_augmentation.composite import MaxNumBoundingBoxes as MaxNumBoundingBoxes
from lamina.layers.preprocessing.image_augmentation.composite import Pipeline as Pipeline
from lamina.layers.preprocessing.image_augmentation.composite import RandAugment as RandAugment
from lamina.layers.preprocessing.image_augmentation.composite import RandomElasticTransform as RandomElasticTransform
from lamina.layers.preprocessing.image_augmentation.composite import RandomPerspective as RandomPerspective
from lamina.layers.preprocessing.image_augmentation.geometric import RandomCrop as RandomCrop
from lamina.layers.preprocessing.image_augmentation.geometric import RandomFlip as RandomFlip
from lamina.layers.preprocessing.image_augmentation.geometric import RandomHeight as RandomHeight
from lamina.layers.preprocessing.image_augmentation.geometric import RandomRotation as RandomRotation
from lamina.layers.preprocessing.image_augmentation.geometric import RandomShear as RandomShear
from lamina.layers.preprocessing.image_augmentation.geometric import RandomTranslation as RandomTranslation
from lamina.layers.preprocessing.image_augmentation.geometric import RandomWidth as RandomWidth
from lamina.layers.preprocessing.image_augmentation.geometric import RandomZoom as RandomZoom
from lamina.layers.preprocessing.image_augmentation.mixing import CutMix as CutMix
from lamina.layers.preprocessing.image_augmentation.mixing import MixUp as MixUp
from lamina.layers.preprocessing.image_augmentation.mixing import RandomErasing as RandomErasing
from lamina.layers.preprocessing.image_augmentation.mixing import RandomGaussianBlur as RandomGaussianBlur
