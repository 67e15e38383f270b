#include "balanced_lists.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace imgvec {
namespace {

using idx_t = faiss::Index::idx_t;
constexpr int kMaxRounds = 8;       // each round splits the hubs left by the previous one's sub-k-means
constexpr int kSplitIterations = 10;

std::vector<size_t> listSizes(const faiss::IndexFlat& quantizer, idx_t n, const float* x, std::vector<idx_t>& assign) {
  std::vector<float> distances(n);
  assign.resize(n);
  quantizer.search(n, x, 1, distances.data(), assign.data());
  std::vector<size_t> sizes(quantizer.ntotal);
  for (idx_t a : assign) sizes[a]++;
  return sizes;
}

// For each centroid, its nearest other centroid.
std::vector<idx_t> neighbours(const faiss::IndexFlat& quantizer) {
  idx_t nlist = quantizer.ntotal;
  std::vector<float> distances(nlist * 2);
  std::vector<idx_t> labels(nlist * 2);
  quantizer.search(nlist, quantizer.get_xb(), 2, distances.data(), labels.data());
  std::vector<idx_t> out(nlist);
  for (idx_t i = 0; i < nlist; i++) out[i] = labels[2 * i] == i ? labels[2 * i + 1] : labels[2 * i];
  return out;
}

// Smallest lists whose centroids can go, at most `wanted`, sparing hubs and the neighbour of every freed list.
std::vector<idx_t> freeableLists(const faiss::IndexFlat& quantizer, const std::vector<size_t>& sizes, double mean,
                                 std::vector<char> spared, size_t wanted) {
  std::vector<idx_t> bySize(sizes.size());
  std::iota(bySize.begin(), bySize.end(), 0);
  std::stable_sort(bySize.begin(), bySize.end(), [&](idx_t a, idx_t b) { return sizes[a] < sizes[b]; });
  std::vector<idx_t> neighbour = neighbours(quantizer);
  std::vector<idx_t> freed;
  for (idx_t l : bySize) {
    if (freed.size() >= wanted || sizes[l] > mean) break;
    if (spared[l]) continue;
    freed.push_back(l);
    spared[l] = spared[neighbour[l]] = 1;
  }
  return freed;
}

// One round: splits the lists over the cap, as far as freed slots allow; returns how many it split.
int splitHubs(faiss::IndexIVF& ivf, faiss::IndexFlat& quantizer, idx_t n, const float* x, double mean, double cap,
              int round) {
  size_t d = ivf.d;
  std::vector<idx_t> assign;
  std::vector<size_t> sizes = listSizes(quantizer, n, x, assign);
  std::vector<idx_t> hubs;
  std::vector<char> spared(sizes.size());
  size_t wanted = 0;
  for (size_t l = 0; l < sizes.size(); l++) {
    if (sizes[l] > cap) {
      hubs.push_back(l);
      spared[l] = 1;
      wanted += static_cast<size_t>(std::ceil(sizes[l] / mean)) - 1;
    }
  }
  if (hubs.empty()) return 0;
  std::sort(hubs.begin(), hubs.end(), [&](idx_t a, idx_t b) { return sizes[a] > sizes[b]; });
  std::vector<idx_t> freed = freeableLists(quantizer, sizes, mean, spared, wanted);
  std::vector<float> centroids(quantizer.get_xb(), quantizer.get_xb() + sizes.size() * d);
  size_t nextFree = 0;
  int splits = 0;
  for (idx_t hub : hubs) {
    size_t k = std::min(static_cast<size_t>(std::ceil(sizes[hub] / mean)), 1 + freed.size() - nextFree);
    if (k < 2) break;
    std::vector<float> points;
    points.reserve(sizes[hub] * d);
    for (idx_t i = 0; i < n; i++) {
      if (assign[i] == hub) points.insert(points.end(), x + i * d, x + (i + 1) * d);
    }
    faiss::ClusteringParameters cp = ivf.cp;  // spherical for inner product, as FAISS sets it
    cp.niter = kSplitIterations;
    cp.seed = ivf.cp.seed + 7919 * (round + 1) + hub;
    cp.min_points_per_centroid = 1;
    cp.verbose = false;
    faiss::Clustering clustering(d, k, cp);
    faiss::IndexFlat assigner(d, ivf.metric_type);
    clustering.train(sizes[hub], points.data(), assigner);
    std::copy_n(clustering.centroids.data(), d, centroids.data() + hub * d);
    for (size_t j = 1; j < k; j++) {
      std::copy_n(clustering.centroids.data() + j * d, d, centroids.data() + freed[nextFree++] * d);
    }
    splits++;
  }
  quantizer.reset();
  quantizer.add(sizes.size(), centroids.data());
  return splits;
}

}  // namespace

int trainBalanced(faiss::IndexIVF& ivf, idx_t n, const float* x, double maxListFactor) {
  auto* quantizer = dynamic_cast<faiss::IndexFlat*>(ivf.quantizer);
  int splits = 0;
  if (quantizer != nullptr && maxListFactor > 0 && !ivf.is_trained) {
    ivf.train_q1(n, x, ivf.verbose, ivf.metric_type);
    double mean = static_cast<double>(n) / ivf.nlist;
    for (int round = 0, split = 1; round < kMaxRounds && split > 0; round++) {
      split = splitHubs(ivf, *quantizer, n, x, mean, maxListFactor * mean, round);
      splits += split;
    }
  }
  ivf.train(n, x);  // with the coarse quantizer trained, this trains only the list encoder
  return splits;
}

}  // namespace imgvec
