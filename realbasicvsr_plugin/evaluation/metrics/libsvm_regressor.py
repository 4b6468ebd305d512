"""A LIBSVM epsilon-SVR model with an RBF kernel and its ``svm-scale`` ranges, in NumPy.

The official BRISQUE release scores an image by writing its 36 features to a text file
(``fprintf('%d:%f ')``), scaling them with LIBSVM's ``svm-scale -r allrange`` (which prints
``%g``, six significant digits) and predicting with ``svm-predict -b 1 ... allmodel``. For an
epsilon-SVR ``-b 1`` does not change the predicted value:
``sum_i coef_i * exp(-gamma * ||x - sv_i||^2) - rho``. :class:`LibSVMRegressor` computes exactly
that, and by default rounds the features as the two text files do, so that it lands on the
release's value rather than a few hundredths away from it.
"""
from typing import Tuple

import numpy as np

__all__ = ['LibSVMRegressor', 'read_svm_model', 'read_svm_range']


def _parse_sparse(tokens, line_no: int, path: str, dim: int) -> np.ndarray:
    row = np.zeros(dim, dtype=np.float64)
    for tok in tokens:
        try:
            idx, val = tok.split(':')
            idx = int(idx)
            row[idx - 1] = float(val)
        except (ValueError, IndexError):
            raise ValueError(f'{path}, line {line_no}: bad support vector entry {tok!r} '
                             f'(expected index:value with 1 <= index <= {dim})') from None
    return row


def read_svm_model(path: str, dim: int) -> dict:
    """Read a LIBSVM model file (text) of an epsilon-SVR with an RBF kernel.

    Args:
        path (str): Model file.
        dim (int): Feature dimension.

    Returns:
        dict: ``gamma`` (float), ``rho`` (float), ``coef`` ``(n_sv,)`` and ``sv``
        ``(n_sv, dim)`` float64 arrays.
    """
    with open(path, 'r', encoding='ascii', errors='replace') as f:
        lines = f.read().splitlines()
    header = {}
    start = None
    for i, line in enumerate(lines):
        parts = line.split()
        if not parts:
            continue
        if parts[0] == 'SV':
            start = i + 1
            break
        header[parts[0]] = parts[1:]
    if start is None:
        raise ValueError(f'{path} is not a LIBSVM model file: no "SV" line')
    svm_type = header.get('svm_type', ['?'])[0]
    kernel = header.get('kernel_type', ['?'])[0]
    if svm_type not in ('epsilon_svr', 'nu_svr'):
        raise ValueError(f'{path}: svm_type {svm_type!r} is not a regression model')
    if kernel != 'rbf':
        raise ValueError(f'{path}: kernel_type {kernel!r} is not supported (only rbf)')
    try:
        gamma = float(header['gamma'][0])
        rho = float(header['rho'][0])
        total = int(header['total_sv'][0])
    except (KeyError, IndexError, ValueError):
        raise ValueError(f'{path}: gamma, rho or total_sv missing from the header') from None
    coef, rows = [], []
    for line_no, line in enumerate(lines[start:], start=start + 1):
        parts = line.split()
        if not parts:
            continue
        coef.append(float(parts[0]))
        rows.append(_parse_sparse(parts[1:], line_no, path, dim))
    if len(coef) != total:
        raise ValueError(f'{path}: header says {total} support vectors, found {len(coef)} '
                         '(truncated file?)')
    return dict(gamma=gamma, rho=rho, coef=np.asarray(coef), sv=np.stack(rows))


def read_svm_range(path: str, dim: int) -> Tuple[float, float, np.ndarray, np.ndarray]:
    """Read an ``svm-scale`` range file (feature scaling only).

    Args:
        path (str): Range file (``x``, then ``lower upper``, then ``index min max`` lines).
        dim (int): Feature dimension.

    Returns:
        tuple: ``lower``, ``upper``, ``feature_min`` ``(dim,)``, ``feature_max`` ``(dim,)``.
    """
    with open(path, 'r', encoding='ascii', errors='replace') as f:
        lines = [ln.split() for ln in f.read().splitlines() if ln.strip()]
    if not lines or lines[0] != ['x']:
        raise ValueError(f'{path} is not an svm-scale feature range file (first line must be '
                         f'"x"; target scaling "y" is not supported)')
    try:
        lower, upper = float(lines[1][0]), float(lines[1][1])
    except (IndexError, ValueError):
        raise ValueError(f'{path}: second line must be "lower upper"') from None
    fmin = np.full(dim, np.nan)
    fmax = np.full(dim, np.nan)
    for parts in lines[2:]:
        try:
            idx = int(parts[0])
            fmin[idx - 1], fmax[idx - 1] = float(parts[1]), float(parts[2])
        except (IndexError, ValueError):
            raise ValueError(f'{path}: bad range line {" ".join(parts)!r}') from None
    if np.isnan(fmin).any():
        raise ValueError(f'{path}: ranges missing for features '
                         f'{(np.flatnonzero(np.isnan(fmin)) + 1).tolist()}')
    return lower, upper, fmin, fmax


def _round_fixed6(x: np.ndarray) -> np.ndarray:
    """What ``printf('%f')`` then ``strtod`` give back: six decimals."""
    return np.array([float(f'{v:f}') for v in x], dtype=np.float64)


def _round_general6(x: np.ndarray) -> np.ndarray:
    """What ``printf('%g')`` then ``strtod`` give back: six significant digits."""
    return np.array([float(f'{v:g}') for v in x], dtype=np.float64)


class LibSVMRegressor:
    """Epsilon-SVR prediction with ``svm-scale`` feature scaling, as LIBSVM's tools compute it.

    Args:
        model_path (str): LIBSVM model file (e.g. BRISQUE's ``allmodel``).
        range_path (str): ``svm-scale`` range file (e.g. BRISQUE's ``allrange``).
        dim (int): Feature dimension. Defaults to 36.
        emulate_text_io (bool): Round the features as the release's text files do
            (``%f`` before scaling, ``%g`` after). Defaults to True.
    """

    def __init__(self, model_path: str, range_path: str, dim: int = 36,
                 emulate_text_io: bool = True) -> None:
        model = read_svm_model(model_path, dim)
        self.gamma = model['gamma']
        self.rho = model['rho']
        self.coef = model['coef']
        self.sv = model['sv']
        self.lower, self.upper, self.feature_min, self.feature_max = read_svm_range(
            range_path, dim)
        self.dim = dim
        self.emulate_text_io = emulate_text_io

    def scale(self, features: np.ndarray) -> np.ndarray:
        """``svm-scale``: map each feature from its [min, max] to [lower, upper].

        Args:
            features (np.ndarray): ``(dim,)`` raw features.

        Returns:
            np.ndarray: ``(dim,)`` scaled features (not clipped, as svm-scale).
        """
        x = np.asarray(features, dtype=np.float64)
        if self.emulate_text_io:
            x = _round_fixed6(x)
        span = self.feature_max - self.feature_min
        with np.errstate(invalid='ignore', divide='ignore'):
            scaled = self.lower + (self.upper - self.lower) * (x - self.feature_min) / span
        scaled = np.where(x == self.feature_min, self.lower, scaled)
        scaled = np.where(x == self.feature_max, self.upper, scaled)
        # a feature with min == max is left out of the scaled file, i.e. it is 0
        scaled = np.where(span == 0, 0.0, scaled)
        if self.emulate_text_io:
            scaled = _round_general6(scaled)
        return scaled

    def predict(self, features: np.ndarray) -> float:
        """Predicted value for one feature vector.

        Args:
            features (np.ndarray): ``(dim,)`` raw (unscaled) features.

        Returns:
            float: ``sum_i coef_i * K(sv_i, x) - rho``.
        """
        x = self.scale(features)
        if x.shape != (self.dim, ):
            raise ValueError(f'expected {self.dim} features, got shape {x.shape}')
        diff = self.sv - x[None, :]
        dist = np.einsum('ij,ij->i', diff, diff)
        return float(self.coef @ np.exp(-self.gamma * dist) - self.rho)
