"""A tiny text dataset: integer token ids and a label per sample."""

import torch
from torch.utils.data import DataLoader, Dataset


class TokenDataset(Dataset):
    def __init__(self, samples, seq_len=8):
        # samples: list of (token ids, label)
        self.samples = samples
        self.seq_len = seq_len

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        ids, label = self.samples[index]
        ids = (list(ids) + [0] * self.seq_len)[: self.seq_len]
        return torch.tensor(ids, dtype=torch.int64), torch.tensor(label, dtype=torch.int64)


def make_loader(samples, batch_size=2):
    return DataLoader(TokenDataset(samples), batch_size=batch_size, shuffle=False)
