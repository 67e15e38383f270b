#include "balanced_lists.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/utils/distances.h>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <optional>
#include <vector>

namespace imgvec {
namespace {

constexpr size_t kTwoLevelFrom = 4096;  // coarse k-means of this many lists or more runs in two levels
constexpr int kNearbyGroups = 4;  // a two-level k-means' last step looks among the centroids of this many groups
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

// How many of `total` centroids each group gets: in proportion to its points, at most one per point and at least one
// for every group with points, the rounding settled where it is furthest from the proportion.
std::vector<size_t> shares(const std::vector<size_t>& sizes, size_t total, idx_t n) {
  std::vector<size_t> share(sizes.size());
  size_t given = 0;
  for (size_t g = 0; g < sizes.size(); g++) {
    share[g] = std::min(sizes[g], std::max<size_t>(sizes[g] > 0, static_cast<size_t>(total * sizes[g] / n)));
    given += share[g];
  }
  auto shortfall = [&](size_t g) { return static_cast<double>(total) * sizes[g] / n - share[g]; };
  auto most = [&](auto eligible, auto better) {
    size_t best = sizes.size();
    for (size_t g = 0; g < sizes.size(); g++) {
      if (eligible(g) && (best == sizes.size() || better(shortfall(g), shortfall(best)))) best = g;
    }
    return best;
  };
  for (; given < total; given++) share[most([&](size_t g) { return share[g] < sizes[g]; }, std::greater<>())]++;
  for (; given > total; given--) share[most([&](size_t g) { return share[g] > 1; }, std::less<>())]--;
  return share;
}

// One Lloyd step's update: each centroid moves to the mean of the vectors assigned to it.
void moveToMeans(faiss::IndexIVF& ivf, faiss::IndexFlat& quantizer, const std::vector<idx_t>& assign, idx_t n,
                 const float* x) {
  size_t d = ivf.d;
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
  if (ivf.cp.spherical) faiss::fvec_renorm_L2(d, ivf.nlist, centroids.data());
  quantizer.reset();
  quantizer.add(ivf.nlist, centroids.data());
}

// Vectors whose group is g, and their rows.
std::vector<idx_t> membersOf(const std::vector<idx_t>& group, idx_t g, const float* x, size_t d,
                             std::vector<float>& points) {
  std::vector<idx_t> members;
  points.clear();
  for (size_t i = 0; i < group.size(); i++) {
    if (group[i] != g) continue;
    members.push_back(i);
    points.insert(points.end(), x + i * d, x + (i + 1) * d);
  }
  return members;
}

// Each vector's nearest centroid among those of the kNearbyGroups groups nearest its own group (itself included):
// group g's centroids are quantizer entries firstOfGroup[g] up to firstOfGroup[g + 1].
std::vector<idx_t> assignAmongNearbyGroups(const faiss::IndexFlat& topCentroids, const std::vector<idx_t>& group,
                                           const std::vector<idx_t>& firstOfGroup, const faiss::IndexFlat& quantizer,
                                           const float* x) {
  size_t d = quantizer.d;
  idx_t top = topCentroids.ntotal;
  idx_t near = std::min<idx_t>(kNearbyGroups, top);
  std::vector<float> distances(top * near);
  std::vector<idx_t> nearGroups(top * near);
  topCentroids.search(top, topCentroids.get_xb(), near, distances.data(), nearGroups.data());
  std::vector<idx_t> assign(group.size());
  std::vector<float> points;
  for (idx_t g = 0; g < top; g++) {
    std::vector<idx_t> members = membersOf(group, g, x, d, points);
    if (members.empty()) continue;
    faiss::IndexFlat candidates(d, quantizer.metric_type);  // flat, so that FAISS searches it with BLAS
    std::vector<idx_t> globalId;
    for (idx_t j = 0; j < near; j++) {
      idx_t h = nearGroups[g * near + j];
      candidates.add(firstOfGroup[h + 1] - firstOfGroup[h], quantizer.get_xb() + firstOfGroup[h] * d);
      for (idx_t c = firstOfGroup[h]; c < firstOfGroup[h + 1]; c++) globalId.push_back(c);
    }
    std::vector<idx_t> local = nearest(candidates, members.size(), points.data());
    for (size_t m = 0; m < members.size(); m++) assign[members[m]] = globalId[local[m]];
  }
  return assign;
}

// A k-means in two levels: the groups, each vector's group, and the centroids, group g's from firstOfGroup[g] up to
// firstOfGroup[g + 1].
struct TwoLevel {
  faiss::IndexFlat groups;
  std::vector<idx_t> groupOf;
  std::vector<idx_t> firstOfGroup;
  std::vector<float> centroids;
};

std::vector<float> kMeans(size_t d, size_t k, const faiss::ClusteringParameters& cp, faiss::MetricType metric, idx_t n,
                          const float* x);

// k-means into k centroids in two levels, as FAISS advises for large k: about sqrt(k) centroids over the vectors,
// then each one's vectors into their share of the k (again in two levels where that share is large, as for the
// largest categories of a catalogue). A Lloyd step then costs each vector about 2 sqrt(k) distances, not k: at
// 65,536 lists, 128 times fewer.
TwoLevel twoLevel(size_t d, size_t k, const faiss::ClusteringParameters& cp, faiss::MetricType metric, idx_t n,
                  const float* x) {
  idx_t top = std::lround(std::sqrt(static_cast<double>(k)));
  TwoLevel found{faiss::IndexFlat(d, metric), {}, std::vector<idx_t>(top + 1), {}};
  faiss::Clustering first(d, top, cp);
  first.train(n, x, found.groups);
  found.groupOf = nearest(found.groups, n, x);
  std::vector<size_t> share = shares(sizesOf(found.groupOf, top), k, n);
  std::vector<float> points;
  for (idx_t g = 0; g < top; g++) {
    found.firstOfGroup[g] = found.centroids.size() / d;
    if (share[g] == 0) continue;
    membersOf(found.groupOf, g, x, d, points);
    faiss::ClusteringParameters second = cp;
    second.seed = cp.seed + 7919 * (g + 1);
    second.min_points_per_centroid = 1;  // a group's share follows its points; no warning for small ones
    second.verbose = false;
    std::vector<float> own = kMeans(d, share[g], second, metric, points.size() / d, points.data());
    found.centroids.insert(found.centroids.end(), own.begin(), own.end());
  }
  found.firstOfGroup[top] = found.centroids.size() / d;
  return found;
}

// The centroids of k-means into k: FAISS's, or from kTwoLevelFrom centroids in two levels.
std::vector<float> kMeans(size_t d, size_t k, const faiss::ClusteringParameters& cp, faiss::MetricType metric, idx_t n,
                          const float* x) {
  if (k >= kTwoLevelFrom) return twoLevel(d, k, cp, metric, n, x).centroids;
  faiss::Clustering clustering(d, k, cp);
  faiss::IndexFlat centroids(d, metric);
  clustering.train(n, x, centroids);
  return clustering.centroids;
}

// The coarse k-means in two levels, its last step assigning the vectors of each group among the centroids of the
// kNearbyGroups groups nearest it (itself included) rather than among all.
std::vector<idx_t> twoLevelKMeans(faiss::IndexIVF& ivf, faiss::IndexFlat& quantizer, idx_t n, const float* x) {
  TwoLevel found = twoLevel(ivf.d, ivf.nlist, ivf.cp, ivf.metric_type, n, x);
  quantizer.reset();
  quantizer.add(ivf.nlist, found.centroids.data());
  quantizer.is_trained = true;
  std::vector<idx_t> assign = assignAmongNearbyGroups(found.groups, found.groupOf, found.firstOfGroup, quantizer, x);
  if (ivf.cp.niter > 1) moveToMeans(ivf, quantizer, assign, n, x);
  return assign;
}

// Coarse k-means as IndexIVF::train runs it (cp.niter Lloyd steps), the last step taken here so that it yields
// every training vector's list without an extra pass over the sample; in two levels from kTwoLevelFrom lists.
std::vector<idx_t> coarseKMeans(faiss::IndexIVF& ivf, faiss::IndexFlat& quantizer, idx_t n, const float* x) {
  if (ivf.nlist >= kTwoLevelFrom) return twoLevelKMeans(ivf, quantizer, n, x);
  faiss::ClusteringParameters cp = ivf.cp;
  cp.niter = std::max(1, cp.niter - 1);
  faiss::Clustering clustering(ivf.d, ivf.nlist, cp);
  quantizer.reset();
  clustering.train(n, x, quantizer);
  quantizer.is_trained = true;
  std::vector<idx_t> assign = nearest(quantizer, n, x);
  if (ivf.cp.niter > 1) moveToMeans(ivf, quantizer, assign, n, x);
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
  auto* flat = dynamic_cast<faiss::IndexFlat*>(ivf.quantizer);
  bool hnsw = dynamic_cast<faiss::IndexHNSWFlat*>(ivf.quantizer) != nullptr;
  if (ivf.is_trained || (flat == nullptr && !hnsw) || n < static_cast<idx_t>(ivf.nlist) ||
      (maxListFactor <= 0 && ivf.nlist < kTwoLevelFrom)) {
    ivf.train(n, x);
    return 0;
  }
  // An HNSW quantizer gets the centroids found with a flat one, then builds its graph over them.
  faiss::IndexFlat scratch(ivf.d, ivf.metric_type);
  faiss::IndexFlat& centroids = flat != nullptr ? *flat : scratch;
  std::vector<idx_t> assign = coarseKMeans(ivf, centroids, n, x);
  int splits = 0;
  double mean = static_cast<double>(n) / ivf.nlist;
  for (int round = 0, split = 1; maxListFactor > 0 && round < kMaxRounds && split > 0; round++) {
    split = splitHubs(ivf, centroids, n, x, assign, mean, maxListFactor * mean, round);
    splits += split;
  }
  if (flat == nullptr) {
    setCentroids(ivf, centroids.get_xb());
  }
  ivf.train(n, x);  // with the coarse quantizer trained, this trains only the list encoder
  return splits;
}

OneThread::OneThread() : before(omp_get_max_threads()) { omp_set_num_threads(1); }

OneThread::~OneThread() { omp_set_num_threads(before); }

void setCentroids(faiss::IndexIVF& ivf, const float* centroids) {
  ivf.quantizer->reset();
  std::optional<OneThread> oneThread;
  if (dynamic_cast<faiss::IndexHNSW*>(ivf.quantizer) != nullptr) oneThread.emplace();
  ivf.quantizer->add(ivf.nlist, centroids);
}

}  // namespace imgvec
