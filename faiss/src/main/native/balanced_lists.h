// IVF training that keeps inverted lists near their mean size.
#pragma once

#include <faiss/IndexIVF.h>

#include <cstdint>

namespace imgvec {

// FAISS's id type: faiss::Index::idx_t up to 1.7.3, faiss::idx_t after (Index::idx_t was removed); both int64_t.
using idx_t = int64_t;

// Trains an IVF index as IndexIVF::train does, but after the coarse k-means splits every list that would hold more
// than maxListFactor times the mean share of the training vectors, before the list encoder (e.g. PQ on residuals)
// is trained on the final centroids.
//
// Why: k-means starts from random centroids, so some natural clusters of the data get none; their points all fall
// to a few centroids lying between clusters. Those "hub" lists hold tens of times the mean, and a query whose
// nearest centroid is a hub scans it whole (FAISS checks max_codes only between lists), which sets the p99 latency.
// A hub is split by k-means on its own points into size/mean centroids; the slots come from the smallest lists
// (never both of two neighbouring centroids, so a freed list's points move to a neighbour, not into a new hub).
// Only sub-centroids that take points get a slot, so a hub of identical vectors stays one list.
// Applies to IVF indexes with a flat or HNSW coarse quantizer (the HNSW graph is built over the centroids found);
// others train as usual, and so do these with maxListFactor <= 0 below 4,096 lists.
// From 4,096 lists the coarse k-means runs in two levels (about sqrt(nlist) centroids, then each one's points into
// their share of the lists): a Lloyd step over all nlist centroids costs nlist distances per training vector, which
// at 65,536 lists would dominate a billion-vector build's time on the driver.
// Returns the number of lists split.
int trainBalanced(faiss::IndexIVF& ivf, idx_t n, const float* x, double maxListFactor);

// Replaces the coarse quantizer's centroids with nlist x d `centroids`. An HNSW quantizer builds its graph over them
// on one thread: a graph built by several depends on their timing, and two fresh builds of the same data would
// measure different candidates and could choose different indexes.
void setCentroids(faiss::IndexIVF& ivf, const float* centroids);

// Runs FAISS's OpenMP work on one thread while in scope, restored however the scope ends.
struct OneThread {
  int before;
  OneThread();
  ~OneThread();
};

}  // namespace imgvec
