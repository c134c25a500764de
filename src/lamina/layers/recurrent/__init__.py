"""Recurrent layers: RNN (any cell, or stacked cells), SimpleRNN, GRU, LSTM, their cells, Bidirectional."""
