"""VGG16 on one photo: the top-k ImageNet classes with their names, and the 64 feature maps of
block1_conv1 (report 001).

  python -m transfer.convert --source=keras --output=weights/vgg16_keras   # once (internet)
  python launch.py --config=configs/vgg16_predict.py --config.dataset.image=cat.jpg

Writes summary.json (`top_k`: class id, name, probability) and figures/block1_conv1.png.
"""
import ml_collections

from configs import variants, vgg16_common


VARIANTS = ()


def get_config(arg: str | None = None):
  variants.parse(arg, __file__, VARIANTS, quick=False)  # one image: nothing to shrink
  config = ml_collections.ConfigDict()
  config.trainer = 'vgg16_predict'
  config.seed = 0
  config.dataset = d = ml_collections.ConfigDict()
  d.image = ''                 # a photo (png, jpg, ...): required
  d.image_size = 224
  d.resize = 'auto'            # squash (Keras' load_img) | center_crop (torchvision) | auto:
                               # the weights' source's
  config.model = vgg16_common.model()
  config.eval = ml_collections.ConfigDict()
  config.eval.top_k = 5
  return config
