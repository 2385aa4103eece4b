"""Report 004's application: a local page with a playable Sudoku whose givens are generated
images, and a gallery of the run (latest grid, fresh samples, latent interpolation, FID).

  python -m gans.app            # the conditional generator shipped with the code
  python -m gans.app --workdir=runs/cdcgan [--port=8000] [--threshold=0.9] [--which=best]
      [--classifier_dir=runs/eval_classifier]

Serves on 127.0.0.1 only. The generator (a run's, gans/saved.py, or the shipped one,
gans/shipped.py) and the classifier that checks its samples are loaded and compiled once, at
start (gans/app/labelled_samples.py). On Fashion-MNIST nine classes stand for 1-9 (Shirt, the
one most often confused, is left out); on MNIST the digits 1-9 do. The legend shows, per
number, the sample the classifier was surest of among a few batches, the same for every
puzzle.
"""
import socket
import sys

from absl import app as absl_app, flags, logging

from gans import saved
from gans.app import labelled_samples, site


def _define_flags():
  """Command-line flags, defined only when run as a program (modules stay importable
  together)."""
  global _WORKDIR, _HOST, _PORT, _WHICH, _THRESHOLD, _CLASSIFIER
  _WORKDIR = flags.DEFINE_string('workdir', '', 'A GAN run folder (launch.py --workdir); '
                                 "'': the Fashion-MNIST generator shipped with the code.")
  _HOST = flags.DEFINE_string('host', '127.0.0.1', 'Address to serve on (local by default).')
  _PORT = flags.DEFINE_integer('port', 8000, 'Port; 0 picks a free one.')
  _WHICH = flags.DEFINE_enum('which', 'last', saved.WHICH, 'Last checkpoint or best FID.')
  _THRESHOLD = flags.DEFINE_float('threshold', 0.9, 'A sample stands for its class when the '
                                  'classifier agrees with at least this probability.')
  _CLASSIFIER = flags.DEFINE_string('classifier_dir', '', "Default: the run's "
                                    'eval.classifier_dir, else the shipped network.')


# What loading a run raises for a folder that holds none (or a broken one): each is one line.
LOAD_ERRORS = (OSError, ValueError)


def _fail(message: str):
  print(f'gans.app: {message}', file=sys.stderr)
  sys.exit(2)


def _listen(host: str, port: int) -> socket.socket:
  if not 0 <= port <= 65535:
    _fail(f'--port={port}: expected a port number 1-65535, or 0 for a free one.')
  sock = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
  sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
  try:
    sock.bind((host, port))
    sock.listen(64)
  except OSError as e:
    sock.close()
    _fail(f'cannot serve on {host}:{port}: {e.strerror or e}; pass --port=N, or --port=0 '
          'for a free one.')
  return sock


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  from werkzeug import serving  # pylint: disable=g-import-not-at-top
  sock = _listen(_HOST.value, _PORT.value)  # first: a clash is known before the loading
  site_app = {}
  server = serving.make_server(_HOST.value, _PORT.value,
                               lambda environ, respond: site_app['app'](environ, respond),
                               fd=sock.fileno())
  try:
    run = saved.load(_WORKDIR.value, _WHICH.value) if _WORKDIR.value else saved.load_shipped()
    classifier, note = site.load_classifier(run.config, _CLASSIFIER.value, len(run.class_names))
    sampler = labelled_samples.Sampler(run, classifier, _THRESHOLD.value)
  except LOAD_ERRORS as e:
    _fail(str(e))
  if note:
    print(f'gans.app: {note}', file=sys.stderr)
  site_app['app'] = site.create_app(site.Site(sampler, note))
  print(f'Serving {site.source_of(run)} ({run.config.model.arch}, step {run.step}) on '
        f'http://{_HOST.value}:{sock.getsockname()[1]}/  (Ctrl-C stops it)', flush=True)
  try:
    server.serve_forever()
  except KeyboardInterrupt:
    pass
  finally:
    server.server_close()


if __name__ == '__main__':
  _define_flags()
  absl_app.run(main)
