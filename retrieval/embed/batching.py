"""Micro-batching of query encodes: concurrent questions share one encode call.

One worker thread takes every question waiting when it wakes and encodes them
together (the ONNX backend spreads them over the cores, one text per model run).
A lone caller pays no extra wait; under load, the questions that arrive while a
batch is being encoded form the next batch, so throughput grows with concurrency
instead of queueing one encode call per question.

>>> batcher = MicroBatcher(embedder.encode)
>>> vector = batcher.encode_one("when were relations established?")
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Callable

import numpy as np

from retrieval.embed.lazy import Lazy


class MicroBatcher:
    def __init__(self, encode: Callable[[list[str]], np.ndarray], max_batch: int = 64, window: float = 0.0):
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self._encode = encode
        self._max_batch = max_batch
        self._window = window
        self._queue: queue.SimpleQueue[tuple[str, Future]] = queue.SimpleQueue()
        self._worker = Lazy(self._start_worker)  # started by the first question
        self.batches = 0  # how many model calls were made (for benchmarks)

    def encode_one(self, text: str) -> np.ndarray:
        """The vector of ``text``; blocks until its batch is encoded."""
        return self.encode_many([text])[0]

    def encode_many(self, texts: list[str]) -> list[np.ndarray]:
        """The vectors of ``texts``, encoded in one batch with whatever else is waiting."""
        futures = [Future() for _ in texts]
        for text, future in zip(texts, futures):
            self._queue.put((text, future))
        self._worker()
        return [future.result() for future in futures]

    def _start_worker(self) -> threading.Thread:
        worker = threading.Thread(target=self._run, name="query-encoder", daemon=True)
        worker.start()
        return worker

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            deadline_wait = self._window
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get(timeout=deadline_wait) if deadline_wait else self._queue.get_nowait())
                except queue.Empty:
                    break
            self.batches += 1
            try:
                vectors = self._encode([text for text, _ in batch])
            except BaseException as exc:  # noqa: BLE001 - hand the failure to every waiting caller
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), vector in zip(batch, vectors):
                future.set_result(vector)
