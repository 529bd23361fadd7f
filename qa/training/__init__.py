"""Training the reader on SQuAD 2.0 (``make reader``): a tool above the library, never on the
question path. It writes the weights that ``qa.neural.reader`` ships."""
