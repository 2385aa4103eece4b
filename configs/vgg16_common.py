"""What the VGG16 transfer configs share: weights, image folders, input size."""
import ml_collections

from configs import variants


def base(trainer: str, arg: str | None) -> tuple[ml_collections.ConfigDict, bool]:
  """The shared sections, and whether `arg` asks for the quick version."""
  _, quick = variants.parse(arg, f'{trainer}.py')
  config = ml_collections.ConfigDict()
  config.trainer = trainer
  config.seed = 0
  config.weights_dir = 'weights/vgg16_keras'   # python -m transfer.convert --output=...
  config.data = ml_collections.ConfigDict()
  config.data.train_dir = ''        # one subfolder of images per class
  config.data.tfds_name = ''        # or a prepared TFDS dataset instead: cats_vs_dogs
  config.data.tfds_dir = ''         # its data_dir ('' : $TFDS_DATA_DIR, ~/tensorflow_datasets)
  config.data.max_examples = 0      # TFDS: the first N records (report 000: 3000); 0 = all
  config.data.test_dir = ''         # the same classes; '' = hold out data.test_fraction
  config.data.test_fraction = 0.2
  config.data.image_size = 224
  config.data.resize = 'auto'       # squash | center_crop | auto: the weights' source's
  config.dtype = 'float32'          # | bfloat16 (accelerators)
  config.eval = ml_collections.ConfigDict()
  config.eval.batch_size = 32
  return config, quick
