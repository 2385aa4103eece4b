"""Images from files: one image, or a folder with one subfolder per class (or a single folder
of unlabelled images), resized and returned as uint8 [N, H, W, C]."""
import logging
import os

import numpy as np

EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.gif', '.tif', '.tiff', '.webp')
RESIZES = ('squash', 'center_crop')


def read_image(path: str, size: int | None = None, resize: str = 'squash',
               channels: int = 3) -> np.ndarray:
  """uint8 [size, size, channels]. resize 'squash' scales to size x size (Keras' load_img);
  'center_crop' scales the short side to size * 8/7 and crops the centre (torchvision's
  Resize(256) + CenterCrop(224))."""
  from PIL import Image, UnidentifiedImageError  # pylint: disable=g-import-not-at-top
  if resize not in RESIZES:
    raise ValueError(f'resize {resize!r}: expected one of {", ".join(RESIZES)}.')
  try:
    with Image.open(path) as im:
      im = im.convert('RGB' if channels == 3 else 'L')
  except (FileNotFoundError, IsADirectoryError) as e:
    raise FileNotFoundError(f'{path}: no such image file.') from e
  except UnidentifiedImageError as e:
    raise ValueError(f'{path}: not an image PIL can read (accepted: '
                     f'{", ".join(EXTENSIONS)}).') from e
  return _resized(im, size, resize)


def resize_array(image: np.ndarray, size: int, resize: str = 'squash',
                 channels: int = 3) -> np.ndarray:
  """`read_image`'s resizing for a decoded uint8 [H, W, C] array (a TFDS record)."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  if resize not in RESIZES:
    raise ValueError(f'resize {resize!r}: expected one of {", ".join(RESIZES)}.')
  image = np.asarray(image, np.uint8)
  im = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
  return _resized(im.convert('RGB' if channels == 3 else 'L'), size, resize)


def _resized(im, size, resize):
  from PIL import Image  # pylint: disable=g-import-not-at-top
  if size:
    if resize == 'squash':
      im = im.resize((size, size), Image.BILINEAR)
    else:
      short = round(size * 8 / 7)
      w, h = im.size
      im = im.resize((max(short, round(w * short / h)), max(short, round(h * short / w))),
                     Image.BILINEAR)
      left, top = (im.size[0] - size) // 2, (im.size[1] - size) // 2
      im = im.crop((left, top, left + size, top + size))
  x = np.asarray(im, np.uint8)
  return x[..., None] if x.ndim == 2 else x


def read_folder(root: str, size: int, channels: int = 3, resize: str = 'squash'):
  """(images uint8 [N, size, size, C], labels int32 [N], class names): one subfolder per class
  (sorted names), or images directly in `root` (one class named after it)."""
  if not os.path.isdir(root):
    raise FileNotFoundError(f'{root}: no such folder; expected one subfolder of images per '
                            'class, or a folder of images.')
  subdirs = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
  classes = subdirs or [os.path.basename(os.path.normpath(root))]
  images, labels, unreadable = [], [], []
  for label, name in enumerate(classes):
    folder = os.path.join(root, name) if subdirs else root
    for f in sorted(f for f in os.listdir(folder) if f.lower().endswith(EXTENSIONS)):
      try:
        images.append(read_image(os.path.join(folder, f), size, resize, channels))
        labels.append(label)
      except (ValueError, OSError):  # a stray or broken file among a user's images
        unreadable.append(os.path.join(folder, f))
  if unreadable:
    logging.warning('%s: skipped %d unreadable image file(s): %s%s', root, len(unreadable),
                    ', '.join(unreadable[:3]), ', ...' if len(unreadable) > 3 else '')
  if not images:
    raise ValueError(f'{root}: no readable images ({", ".join(EXTENSIONS)}) found'
                     f'{f" ({len(unreadable)} unreadable)" if unreadable else ""}.')
  return np.stack(images), np.asarray(labels, np.int32), tuple(classes)


def read_tfds(name: str, data_dir: str, size: int, resize: str = 'squash',
              channels: int = 3, split: str = 'train', max_examples: int = 0):
  """`read_folder`'s result from a prepared TFDS image dataset with a 'label' feature
  (cats_vs_dogs...): read with tfds.data_source, so no TensorFlow and never a download.
  `max_examples` > 0 keeps the first ones (TFDS shuffles when it prepares)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top  (slow import)
  where = data_dir or '$TFDS_DATA_DIR or ~/tensorflow_datasets'
  try:
    source = tfds.data_source(name, split=split, data_dir=data_dir or None, download=False,
                              try_gcs=False)
  except Exception as e:  # pylint: disable=broad-except  (TFDS raises several kinds)
    raise FileNotFoundError(
        f'TFDS dataset {name!r} (split {split!r}) is not prepared in {where} '
        f'({type(e).__name__}). Prepare it on a machine with internet (`tfds build {name} '
        f'--data_dir=DIR`, then copy DIR here), or use an image folder.') from e
  n = min(max_examples, len(source)) if max_examples else len(source)
  images, labels = [], []
  for i in range(n):
    record = source[i]
    images.append(resize_array(record['image'], size, resize, channels))
    labels.append(int(record['label']))
  return (np.stack(images), np.asarray(labels, np.int32),
          tuple(source.dataset_info.features['label'].names))
