"""gans/sudoku.py against rules checked here and an independent plain backtracking counter."""
import pytest

from gans.app import sudoku

# Wikipedia's example puzzle ("Sudoku" article) and its published solution
WIKI = ('53..7....6..195....98....6.8...6...34..8.3..17...2...6'
        '.6....28....419..5....8..79')
WIKI_SOLUTION = ('534678912672195348198342567859761423426853791713924856'
                 '961537284287419635345286179')


def _digits(text):
  return [0 if ch == '.' else int(ch) for ch in text]


def _units():
  rows = [[9 * r + c for c in range(9)] for r in range(9)]
  cols = [[9 * r + c for r in range(9)] for c in range(9)]
  boxes = [[9 * (3 * br + i) + 3 * bc + j for i in range(3) for j in range(3)]
           for br in range(3) for bc in range(3)]
  return rows + cols + boxes


def _count_plain(grid, limit=2):
  """Solutions of `grid` up to `limit`: first empty cell, digits 1..9 in order."""
  grid = list(grid)
  units = _units()

  def ok(cell, d):
    return all(grid[p] != d for u in units if cell in u for p in u)

  def count():
    if 0 not in grid:
      return 1
    cell = grid.index(0)
    total = 0
    for d in range(1, 10):
      if ok(cell, d):
        grid[cell] = d
        total += count()
        grid[cell] = 0
        if total >= limit:
          break
    return total

  return count()


def test_solves_wikipedias_example():
  count, solution = sudoku.solve(_digits(WIKI))
  assert count == 1 and solution == _digits(WIKI_SOLUTION)


def test_counts_several_solutions_and_none():
  two_rows_empty = _digits(WIKI_SOLUTION)[18:]
  two_rows_empty = [0] * 18 + two_rows_empty
  assert sudoku.solve(two_rows_empty, limit=10)[0] == _count_plain(two_rows_empty, 10) == 4
  assert sudoku.solve([0] * 81, limit=3)[0] == 3
  clash = _digits(WIKI)
  clash[2] = 5  # a second 5 in the first row
  assert sudoku.solve(clash) == (0, None)


@pytest.mark.parametrize('difficulty', list(sudoku.DIFFICULTIES))
@pytest.mark.parametrize('seed', [0, 1, 7])
def test_puzzles_are_valid_unique_and_seeded(difficulty, seed):
  puzzle = sudoku.generate(seed, difficulty)
  assert puzzle == sudoku.generate(seed, difficulty)
  for unit in _units():
    assert sorted(puzzle.solution[c] for c in unit) == list(range(1, 10))
  assert all(g in (0, s) for g, s in zip(puzzle.givens, puzzle.solution))
  givens = sum(1 for g in puzzle.givens if g)
  assert sudoku.DIFFICULTIES[difficulty] <= givens <= sudoku.DIFFICULTIES[difficulty] + 6
  assert all(bool(puzzle.givens[c]) == bool(puzzle.givens[80 - c]) for c in range(81))
  assert _count_plain(puzzle.givens) == 1  # unique, by the independent counter


def test_seeds_differ_and_bad_difficulty_is_named():
  assert sudoku.generate(0).solution != sudoku.generate(1).solution
  with pytest.raises(ValueError, match="difficulty = 'extreme': expected one of easy"):
    sudoku.generate(0, 'extreme')
