"""The dataset importer: a folder of CSV files (dataset-format.md) into one organization."""

from domain.importer.load import LoadResult, load_dataset
from domain.importer.problems import DatasetInvalid, DatasetProblem
from domain.importer.validate import Dataset, read_dataset

__all__ = [
    "Dataset",
    "DatasetInvalid",
    "DatasetProblem",
    "LoadResult",
    "load_dataset",
    "read_dataset",
]
