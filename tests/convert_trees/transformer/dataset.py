"""Token-id sequences and their labels, the torch way."""

import torch
from torch.utils.data import Dataset


class SequenceDataset(Dataset):
    def __init__(self, sequences, labels):
        self.sequences, self.labels = sequences, labels

    def __len__(self):
        return len(self.sequences)

    def __getitem__(self, index):
        return torch.tensor(self.sequences[index]), torch.tensor(self.labels[index])
