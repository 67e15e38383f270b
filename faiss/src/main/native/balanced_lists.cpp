#include "balanced_lists.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/utils/distances.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace imgvec {
namespace {

constexpr int kMaxRounds = 8;  // each round splits the hubs left by the previous one's sub-k-means
constexpr int kSplitIterations = 10;

std::vector<idx_t> nearest(const faiss::Index& centroids, idx_t n, const float* x) {
  std::vector<float> distances(n);
  std::vector<idx_t> labels(n);
  if (n > 0) centroids.search(n, x, 1, distances.data(), labels.data());
  return labels;
}

std::vector<size_t> sizesOf(const std::vector<idx_t>& assign, size_t nlist) {
  std::vector<size_t> sizes(nlist);
  for (idx_t a : assign) sizes[a]++;
  return sizes;
}

// Coarse k-means as IndexIVF::train runs it (cp.niter Lloyd steps), the last step taken here so that it yields
// every training vector's list without an extra pass over the sample.
std::vector<idx_t> coarseKMeans(faiss::IndexIVF& ivf, faiss::IndexFlat& quantizer, idx_t n, const float* x) {
  size_t d = ivf.d;
  faiss::ClusteringParameters cp = ivf.cp;
  cp.niter = std::max(1, cp.niter - 1);
  faiss::Clustering clustering(d, ivf.nlist, cp);
  quantizer.reset();
  clustering.train(n, x, quantizer);
  quantizer.is_trained = true;
  std::vector<idx_t> assign = nearest(quantizer, n, x);
  if (ivf.cp.niter <= 1) return assign;
  std::vector<double> sums(ivf.nlist * d);
  for (idx_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) sums[assign[i] * d + j] += x[i * d + j];
  }
  std::vector<size_t> sizes = sizesOf(assign, ivf.nlist);
  std::vector<float> centroids(quantizer.get_xb(), quantizer.get_xb() + ivf.nlist * d);
  for (size_t l = 0; l < ivf.nlist; l++) {
    if (sizes[l] == 0) continue;  // an empty list keeps its centroid
    for (size_t j = 0; j < d; j++) centroids[l * d + j] = sums[l * d + j] / sizes[l];
  }
  if (cp.spherical) faiss::fvec_renorm_L2(d, ivf.nlist, centroids.data());
  quantizer.reset();
  quantizer.add(ivf.nlist, centroids.data());
  return assign;
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

// One round: splits the lists over the cap, as far as freed slots allow, and updates `assign`: a hub's points go to
// their sub-k-means centroid, a freed list's points to their nearest remaining centroid. Returns how many it split.
int splitHubs(faiss::IndexIVF& ivf, faiss::IndexFlat& quantizer, idx_t n, const float* x, std::vector<idx_t>& assign,
              double mean, double cap, int round) {
  size_t d = ivf.d;
  std::vector<size_t> sizes = sizesOf(assign, ivf.nlist);
  std::vector<idx_t> hubs;
  std::vector<char> spared(ivf.nlist);
  size_t wanted = 0;
  for (size_t l = 0; l < ivf.nlist; l++) {
    if (sizes[l] > cap) {
      hubs.push_back(l);
      spared[l] = 1;
      wanted += static_cast<size_t>(std::ceil(sizes[l] / mean)) - 1;
    }
  }
  if (hubs.empty()) return 0;
  std::sort(hubs.begin(), hubs.end(), [&](idx_t a, idx_t b) { return sizes[a] > sizes[b]; });
  std::vector<idx_t> freed = freeableLists(quantizer, sizes, mean, spared, wanted);
  std::vector<char> isFreed(ivf.nlist);
  for (idx_t l : freed) isFreed[l] = 1;
  std::vector<idx_t> orphans;  // points of freed lists (hubs are never freed, so a hub's points are not among them)
  for (idx_t i = 0; i < n; i++) {
    if (isFreed[assign[i]]) orphans.push_back(i);
  }
  std::vector<float> centroids(quantizer.get_xb(), quantizer.get_xb() + ivf.nlist * d);
  size_t nextFree = 0;
  int splits = 0;
  for (idx_t hub : hubs) {
    size_t k = std::min(static_cast<size_t>(std::ceil(sizes[hub] / mean)), 1 + freed.size() - nextFree);
    if (k < 2) break;
    std::vector<idx_t> members;
    std::vector<float> points;
    for (idx_t i = 0; i < n; i++) {
      if (assign[i] != hub) continue;
      members.push_back(i);
      points.insert(points.end(), x + i * d, x + (i + 1) * d);
    }
    faiss::ClusteringParameters cp = ivf.cp;  // spherical for inner product, as FAISS sets it
    cp.niter = kSplitIterations;
    cp.seed = ivf.cp.seed + 7919 * (round + 1) + hub;
    cp.min_points_per_centroid = 1;
    cp.verbose = false;
    faiss::Clustering clustering(d, k, cp);
    faiss::IndexFlat subCentroids(d, ivf.metric_type);
    clustering.train(members.size(), points.data(), subCentroids);
    std::vector<idx_t> sub = nearest(subCentroids, members.size(), points.data());
    std::vector<size_t> subSizes = sizesOf(sub, k);
    // Only sub-centroids that took points get a slot: identical vectors (a catalogue's placeholder image) cannot be
    // split, and a slot spent on an empty centroid would only empty a list.
    std::vector<idx_t> slotOf(k, -1);
    size_t slots = 0;
    for (size_t j = 0; j < k; j++) {
      if (subSizes[j] == 0) continue;
      slotOf[j] = slots++ == 0 ? hub : freed[nextFree++];
      std::copy_n(clustering.centroids.data() + j * d, d, centroids.data() + slotOf[j] * d);
    }
    if (slots < 2) {  // unsplittable: the hub keeps its centroid
      std::copy_n(quantizer.get_xb() + hub * d, d, centroids.data() + hub * d);
      continue;
    }
    for (size_t m = 0; m < members.size(); m++) assign[members[m]] = slotOf[sub[m]];
    splits++;
  }
  // The points of the freed lists that now hold a new centroid move to their nearest centroid.
  std::vector<char> reused(ivf.nlist);
  for (size_t f = 0; f < nextFree; f++) reused[freed[f]] = 1;
  quantizer.reset();
  quantizer.add(ivf.nlist, centroids.data());
  std::vector<float> orphanPoints;
  std::vector<idx_t> reusedOrphans;
  for (idx_t i : orphans) {
    if (!reused[assign[i]]) continue;
    reusedOrphans.push_back(i);
    orphanPoints.insert(orphanPoints.end(), x + i * d, x + (i + 1) * d);
  }
  std::vector<idx_t> moved = nearest(quantizer, reusedOrphans.size(), orphanPoints.data());
  for (size_t m = 0; m < reusedOrphans.size(); m++) assign[reusedOrphans[m]] = moved[m];
  return splits;
}

}  // namespace

int trainBalanced(faiss::IndexIVF& ivf, idx_t n, const float* x, double maxListFactor) {
  auto* quantizer = dynamic_cast<faiss::IndexFlat*>(ivf.quantizer);
  int splits = 0;
  if (quantizer != nullptr && maxListFactor > 0 && !ivf.is_trained && n >= static_cast<idx_t>(ivf.nlist)) {
    std::vector<idx_t> assign = coarseKMeans(ivf, *quantizer, n, x);
    double mean = static_cast<double>(n) / ivf.nlist;
    for (int round = 0, split = 1; round < kMaxRounds && split > 0; round++) {
      split = splitHubs(ivf, *quantizer, n, x, assign, mean, maxListFactor * mean, round);
      splits += split;
    }
  }
  ivf.train(n, x);  // with the coarse quantizer trained, this trains only the list encoder
  return splits;
}

}  // namespace imgvec
