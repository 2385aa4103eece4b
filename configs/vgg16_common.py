"""What the VGG16 transfer configs share: weights, image folders, input size."""
import ml_collections

from configs import variants


def model() -> ml_collections.ConfigDict:
  """The VGG16 weights and the precision it runs in."""
  m = ml_collections.ConfigDict()
  m.weights_dir = 'weights/vgg16_keras'   # python -m transfer.convert --output=...
  m.dtype = 'float32'                     # | bfloat16 (accelerators)
  return m


def base(trainer: str, arg: str | None) -> tuple[ml_collections.ConfigDict, bool]:
  """The shared sections, and whether `arg` asks for the quick version."""
  _, quick = variants.parse(arg, f'{trainer}.py')
  config = ml_collections.ConfigDict()
  config.trainer = trainer
  config.seed = 0
  config.dataset = d = ml_collections.ConfigDict()
  d.train_dir = ''        # one subfolder of images per class
  d.tfds_name = ''        # or a prepared TFDS dataset instead: cats_vs_dogs
  d.tfds_dir = ''         # its data_dir ('' : $TFDS_DATA_DIR, ~/tensorflow_datasets)
  d.max_examples = 0      # TFDS: the first N records (report 000: 3000); 0 = all
  d.test_dir = ''         # the same classes; '' = hold out dataset.test_fraction
  d.test_fraction = 0.2
  d.image_size = 224
  d.resize = 'auto'       # squash | center_crop | auto: the weights' source's
  config.model = model()
  config.eval = ml_collections.ConfigDict()
  config.eval.batch_size = 32
  return config, quick
