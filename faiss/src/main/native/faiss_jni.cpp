// JNI shim over FAISS (Debian libfaiss-dev, static). Every entry point turns C++ exceptions into
// io.imgvec.faiss.FaissException; the Java side validates array sizes and handles before calling in.
#include <jni.h>
#include <omp.h>

#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRefine.h>
#include <faiss/IVFlib.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <faiss/invlists/OnDiskInvertedLists.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "balanced_lists.h"
#include "sq8_distances.h"

namespace {

using imgvec::idx_t;

void throwJava(JNIEnv* env, const std::string& msg) {
  if (env->ExceptionCheck()) return;  // a JVM error (e.g. OutOfMemoryError from pinning) is already pending
  jclass cls = env->FindClass("io/imgvec/faiss/FaissException");
  if (cls != nullptr) env->ThrowNew(cls, msg.c_str());
}

template <typename F>
auto guarded(JNIEnv* env, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const faiss::FaissException& e) {
    throwJava(env, e.what());
  } catch (const std::bad_alloc&) {
    throwJava(env, "FAISS ran out of native memory");
  } catch (const std::exception& e) {
    throwJava(env, std::string("FAISS failed: ") + e.what());
  } catch (...) {
    throwJava(env, "FAISS failed with a non-standard C++ exception");
  }
  return decltype(body())();
}

// After a Get/Set<Type>ArrayRegion call: a bad range leaves an ArrayIndexOutOfBoundsException pending, and no more
// JNI calls or results may follow it (guarded() then leaves that exception to the caller).
void checkRegion(JNIEnv* env) {
  if (env->ExceptionCheck()) throw std::runtime_error("array range out of bounds");
}

faiss::Index* idx(jlong handle) { return reinterpret_cast<faiss::Index*>(handle); }

std::string str(JNIEnv* env, jstring s) {
  const char* chars = s == nullptr ? nullptr : env->GetStringUTFChars(s, nullptr);
  if (chars == nullptr) throw std::runtime_error("null string, or no memory to read it");
  std::string out(chars);
  env->ReleaseStringUTFChars(s, chars);
  return out;
}

// Float input held for the duration of a call, released without copy-back.
struct Floats {
  JNIEnv* env; jfloatArray array; jfloat* data;
  Floats(JNIEnv* e, jfloatArray a) : env(e), array(a), data(a == nullptr ? nullptr : e->GetFloatArrayElements(a, nullptr)) {
    if (data == nullptr) throw std::runtime_error("null float array, or no memory to pin it");
  }
  ~Floats() { env->ReleaseFloatArrayElements(array, data, JNI_ABORT); }
};

// Builds per-call search parameters for the index and the indexes it wraps, so concurrent searches with different
// nprobe/efSearch never mutate the shared index. Owned objects live in `owned`.
faiss::SearchParameters* paramsFor(faiss::Index* index, int nprobe, int efSearch, jlong maxCodes,
                                   std::vector<std::unique_ptr<faiss::SearchParameters>>& owned,
                                   faiss::IDSelector* sel = nullptr) {
  if (auto* map = dynamic_cast<faiss::IndexIDMap*>(index)) return paramsFor(map->index, nprobe, efSearch, maxCodes, owned);
  if (auto* map2 = dynamic_cast<faiss::IndexIDMap2*>(index)) return paramsFor(map2->index, nprobe, efSearch, maxCodes, owned);
  if (auto* pre = dynamic_cast<faiss::IndexPreTransform*>(index)) {
    faiss::SearchParameters* inner = paramsFor(pre->index, nprobe, efSearch, maxCodes, owned);
    if (inner == nullptr) return nullptr;
    auto p = std::make_unique<faiss::SearchParametersPreTransform>();
    p->index_params = inner;
    owned.push_back(std::move(p));
    return owned.back().get();
  }
  if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(index)) {
    // efSearch of an IVF index goes to its HNSW coarse quantizer, if it has one.
    faiss::SearchParameters* coarse = efSearch > 0 ? paramsFor(ivf->quantizer, 0, efSearch, 0, owned) : nullptr;
    if (nprobe <= 0 && maxCodes <= 0 && coarse == nullptr && sel == nullptr) return nullptr;
    auto p = std::make_unique<faiss::SearchParametersIVF>();
    p->sel = sel;  // an IVF index stores the external ids, so the selector filters them directly
    p->nprobe = nprobe > 0 ? std::min<size_t>(nprobe, ivf->nlist) : ivf->nprobe;
    p->max_codes = maxCodes > 0 ? maxCodes : ivf->max_codes;
    p->quantizer_params = coarse;
    owned.push_back(std::move(p));
    return owned.back().get();
  }
  if (dynamic_cast<faiss::IndexHNSW*>(index) != nullptr) {
    if (efSearch <= 0) return nullptr;
    auto p = std::make_unique<faiss::SearchParametersHNSW>();
    p->efSearch = efSearch;
    owned.push_back(std::move(p));
    return owned.back().get();
  }
  return nullptr;
}

// The index an IDMap wraps (or the index itself): what decides how it searches.
faiss::Index* unwrapIdMap(faiss::Index* index) {
  auto* map = dynamic_cast<faiss::IndexIDMap*>(index);  // IDMap2 too: it derives from IDMap
  return map == nullptr ? index : map->index;
}

// FAISS 1.7.3 sizes an HNSW search's candidate list by the graph's own efSearch or k, whichever is larger (the
// efSearch of search parameters only caps its steps), and its IndexIDMap::search refuses parameters. So a graph given
// an efSearch is searched here for max(k, efSearch) results, of which the first k are kept (what a list of efSearch
// candidates ranks first), its positions mapped to the IDMap's ids.
void searchIndex(faiss::Index* index, idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
                 const faiss::SearchParameters* params) {
  auto* map = dynamic_cast<faiss::IndexIDMap*>(index);
  faiss::Index* inner = map == nullptr ? index : map->index;
  auto* graph = dynamic_cast<const faiss::SearchParametersHNSW*>(params);
  if (graph == nullptr || dynamic_cast<faiss::IndexHNSW*>(inner) == nullptr) {
    index->search(n, x, k, distances, labels, params);
    return;
  }
  idx_t wide = std::max<idx_t>(k, graph->efSearch);
  std::vector<float> d(static_cast<size_t>(n) * wide);
  std::vector<idx_t> l(d.size());
  inner->search(n, x, wide, d.data(), l.data(), params);
  for (idx_t q = 0; q < n; q++) {
    for (idx_t i = 0; i < k; i++) {
      idx_t label = l[q * wide + i];
      labels[q * k + i] = label >= 0 && map != nullptr ? map->id_map[label] : label;
      distances[q * k + i] = d[q * wide + i];
    }
  }
}

// FAISS 1.7.3 counts an HNSW search's distances in n3; its ndis stays 0 (later versions count ndis).
jlong hnswDistances() {
  return static_cast<jlong>(faiss::hnsw_stats.n3 + faiss::hnsw_stats.ndis);
}

// An IVF search's work without scanning its lists: the coarse quantizer's search, then the sizes of the probed lists
// summed as IndexIVF::search_preassigned scans them (empty lists skipped, stopping once max_codes are reached).
void countProbes(faiss::IndexIVF* ivf, jlong n, const float* x, int nprobe, int efSearch, jlong maxCodes,
                 jlong* work) {
  std::vector<std::unique_ptr<faiss::SearchParameters>> owned;
  faiss::SearchParameters* coarse = efSearch > 0 ? paramsFor(ivf->quantizer, 0, efSearch, 0, owned) : nullptr;
  size_t probes = nprobe > 0 ? std::min<size_t>(nprobe, ivf->nlist) : ivf->nprobe;
  size_t cap = maxCodes > 0 ? static_cast<size_t>(maxCodes) : ivf->max_codes;
  std::vector<float> dis(static_cast<size_t>(n) * probes);
  std::vector<idx_t> keys(static_cast<size_t>(n) * probes);
  bool graph = dynamic_cast<faiss::IndexHNSW*>(ivf->quantizer) != nullptr;
  if (graph) {  // hnsw_stats is process-wide: one query at a time
    imgvec::OneThread oneThread;
    for (jlong q = 0; q < n; q++) {
      faiss::hnsw_stats.reset();
      ivf->quantizer->search(1, x + q * ivf->d, probes, dis.data() + q * probes, keys.data() + q * probes, coarse);
      work[4 * q + 3] = hnswDistances();
    }
  } else {
    ivf->quantizer->search(n, x, probes, dis.data(), keys.data(), coarse);
  }
  for (jlong q = 0; q < n; q++) {
    size_t scanned = 0, lists = 0;
    for (size_t i = 0; i < probes; i++) {
      idx_t key = keys[q * probes + i];
      size_t size = key < 0 ? 0 : ivf->invlists->list_size(key);
      lists += size > 0;
      scanned += size;
      if (cap > 0 && scanned >= cap) break;
    }
    work[4 * q] = static_cast<jlong>(scanned);
    work[4 * q + 1] = static_cast<jlong>(lists);
    work[4 * q + 2] = graph ? 0 : static_cast<jlong>(ivf->nlist);
  }
}

// FAISS's own counters for each query searched alone (what countProbes agrees with).
void countBySearching(faiss::Index* index, faiss::IndexIVF* ivf, jlong n, const float* x, jint k, int nprobe,
                      int efSearch, jlong maxCodes, jlong* work) {
  bool graph = dynamic_cast<faiss::IndexHNSW*>(ivf == nullptr ? unwrapIdMap(index) : ivf->quantizer) != nullptr;
  jlong flatCentroids = graph ? 0 : ivf == nullptr ? index->ntotal : static_cast<jlong>(ivf->nlist);
  // a graph index's distances are the vectors it compares, outside any list: codes, not a quantizer's work
  bool graphIndex = graph && ivf == nullptr;
  std::vector<float> d(k);
  std::vector<idx_t> l(k);
  std::vector<std::unique_ptr<faiss::SearchParameters>> owned;
  faiss::SearchParameters* params = paramsFor(index, nprobe, efSearch, maxCodes, owned);
  imgvec::OneThread oneThread;
  for (jlong q = 0; q < n; q++) {
    faiss::indexIVF_stats.reset();
    faiss::hnsw_stats.reset();
    searchIndex(index, 1, x + q * index->d, k, d.data(), l.data(), params);
    work[4 * q] = graphIndex ? hnswDistances() : static_cast<jlong>(faiss::indexIVF_stats.ndis);
    work[4 * q + 1] = static_cast<jlong>(faiss::indexIVF_stats.nlist);
    work[4 * q + 2] = flatCentroids;
    work[4 * q + 3] = graphIndex ? 0 : hnswDistances();
  }
}

}  // namespace

extern "C" void openblas_set_num_threads(int);

extern "C" {

// FAISS parallelises with OpenMP and calls BLAS from inside that work; OpenBLAS's own thread pool then competes
// with OpenMP's for the same cores, and both spin while waiting. One BLAS thread trained PQ encoders 3x and k-means
// 1.8x faster here (measured with 2 cores, 2026-11-29).
JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM*, void*) {
  openblas_set_num_threads(1);
  return JNI_VERSION_1_8;
}

JNIEXPORT jlong JNICALL Java_io_imgvec_faiss_FaissNative_create(JNIEnv* env, jclass, jint d, jstring factory,
                                                                 jint metric) {
  return guarded(env, [&]() -> jlong {
    return reinterpret_cast<jlong>(
        faiss::index_factory(d, str(env, factory).c_str(), static_cast<faiss::MetricType>(metric)));
  });
}

JNIEXPORT void JNICALL Java_io_imgvec_faiss_FaissNative_free(JNIEnv*, jclass, jlong h) { delete idx(h); }

// kmeansIterations > 0 overrides the coarse k-means' Lloyd iterations (FAISS's IVF default: 10).
JNIEXPORT jint JNICALL Java_io_imgvec_faiss_FaissNative_train(JNIEnv* env, jclass, jlong h, jlong n, jfloatArray x,
                                                               jdouble maxListFactor, jint kmeansIterations) {
  return guarded(env, [&]() -> jint {
    Floats xs(env, x);
    auto* ivf = dynamic_cast<faiss::IndexIVF*>(idx(h));
    if (ivf == nullptr) {
      idx(h)->train(n, xs.data);
      return 0;
    }
    if (kmeansIterations > 0) ivf->cp.niter = kmeansIterations;
    return imgvec::trainBalanced(*ivf, n, xs.data, maxListFactor);
  });
}

// Trains an IVF index on the coarse centroids of an already trained IVF index of the same nlist (copied into its own
// quantizer, flat or HNSW), so that FAISS's train only trains the list encoder: candidates that differ in their codes
// or quantizer share one k-means. `quick` trains a PQ encoder with 5 k-means iterations on at most 32 points per
// codeword instead of 25 on 256: PQ training time grows with the number of sub-quantizers, not their width, and
// would otherwise dominate a comparison of candidates.
JNIEXPORT void JNICALL Java_io_imgvec_faiss_FaissNative_trainFrom(JNIEnv* env, jclass, jlong h, jlong donor, jlong n,
                                                                   jfloatArray x, jboolean quick) {
  guarded(env, [&]() -> int {
    Floats xs(env, x);
    faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(idx(h));
    faiss::IndexIVF* from = faiss::ivflib::try_extract_index_ivf(idx(donor));
    if (ivf == nullptr || from == nullptr || ivf->nlist != from->nlist || ivf->d != from->d || !from->is_trained) {
      throw faiss::FaissException("trainFrom needs two IVF indexes of the same nlist and dimension, the donor trained");
    }
    std::vector<float> centroids(from->nlist * from->d);
    from->quantizer->reconstruct_n(0, from->nlist, centroids.data());
    imgvec::setCentroids(*ivf, centroids.data());
    auto* ivfpq = dynamic_cast<faiss::IndexIVFPQ*>(ivf);
    if (quick && ivfpq != nullptr) {
      ivfpq->pq.cp.niter = 5;
      ivfpq->pq.cp.max_points_per_centroid = 32;
      ivfpq->pq.cp.min_points_per_centroid = 32;  // no warning for the few points asked for
    }
    ivf->train(n, xs.data);
    return 0;
  });
}

// A distributed add's part: an IVF index's list entries alone (list, count, ids, codes of each non-empty list), not
// the trained quantizer every part shares (134 MB at 65,536 x 512 centroids, in every part file). Other index types
// write and merge whole.
constexpr uint64_t kEntriesMagic = 0x31734c4976676d49;  // "ImgvLs1"

JNIEXPORT void JNICALL Java_io_imgvec_faiss_FaissNative_writeEntries(JNIEnv* env, jclass, jlong h, jstring path) {
  guarded(env, [&]() -> int {
    std::string file = str(env, path);
    auto* ivf = dynamic_cast<faiss::IndexIVF*>(idx(h));
    if (ivf == nullptr) {
      faiss::write_index(idx(h), file.c_str());
      return 0;
    }
    faiss::FileIOWriter out(file.c_str());
    auto write = [&](const void* data, size_t bytes) {
      if (bytes > 0 && out(data, bytes, 1) != 1) throw faiss::FaissException("cannot write " + file);
    };
    uint64_t header[] = {kEntriesMagic, ivf->nlist, ivf->code_size, static_cast<uint64_t>(ivf->ntotal)};
    write(header, sizeof header);
    for (size_t l = 0; l < ivf->nlist; l++) {
      uint64_t list[] = {l, ivf->invlists->list_size(l)};
      if (list[1] == 0) continue;
      faiss::InvertedLists::ScopedIds ids(ivf->invlists, l);
      faiss::InvertedLists::ScopedCodes codes(ivf->invlists, l);
      write(list, sizeof list);
      write(ids.get(), list[1] * sizeof(idx_t));
      write(codes.get(), list[1] * ivf->code_size);
    }
    return 0;
  });
}

JNIEXPORT void JNICALL Java_io_imgvec_faiss_FaissNative_mergeEntries(JNIEnv* env, jclass, jlong h, jstring path) {
  guarded(env, [&]() -> int {
    std::string file = str(env, path);
    auto* ivf = dynamic_cast<faiss::IndexIVF*>(idx(h));
    if (ivf == nullptr) {
      std::unique_ptr<faiss::Index> part(faiss::read_index(file.c_str()));
      idx(h)->merge_from(*part, 0);
      return 0;
    }
    if (!ivf->direct_map.no()) throw faiss::FaissException("merging entries into an index with a direct map");
    faiss::FileIOReader in(file.c_str());
    auto read = [&](void* data, size_t bytes) {
      if (bytes > 0 && in(data, bytes, 1) != 1) throw faiss::FaissException(file + " is truncated");
    };
    uint64_t header[4];
    read(header, sizeof header);
    if (header[0] != kEntriesMagic || header[1] != ivf->nlist || header[2] != ivf->code_size) {
      throw faiss::FaissException(file + " holds no list entries of this index's shape");
    }
    std::vector<idx_t> ids;
    std::vector<uint8_t> codes;
    for (uint64_t merged = 0; merged < header[3];) {
      uint64_t list[2];
      read(list, sizeof list);
      if (list[0] >= ivf->nlist || list[1] == 0 || list[1] > header[3] - merged) {
        throw faiss::FaissException(file + " holds a bad list entry");
      }
      ids.resize(list[1]);
      codes.resize(list[1] * ivf->code_size);
      read(ids.data(), ids.size() * sizeof(idx_t));
      read(codes.data(), codes.size());
      ivf->invlists->add_entries(list[0], list[1], ids.data(), codes.data());
      merged += list[1];
    }
    ivf->ntotal += header[3];
    return 0;
  });
}

// Appends copies of every inverted list's own entries until the index holds about `count` entries, each list grown in
// proportion: a search then scans as many codes as it would over `count` vectors of the sample's distribution. How
// a candidate's latency at the full count is timed from a sample (the copies' ids repeat; recall is not measured on
// a grown index).
JNIEXPORT void JNICALL Java_io_imgvec_faiss_FaissNative_growLists(JNIEnv* env, jclass, jlong h, jlong count) {
  guarded(env, [&]() -> int {
    faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(idx(h));
    if (ivf == nullptr || ivf->ntotal == 0) throw faiss::FaissException("growLists needs a filled IVF index");
    faiss::InvertedLists* lists = ivf->invlists;
    double factor = static_cast<double>(count) / ivf->ntotal;
    size_t added = 0;
    for (size_t l = 0; l < ivf->nlist; l++) {
      size_t n = lists->list_size(l);
      size_t target = static_cast<size_t>(n * factor + 0.5);
      if (n == 0 || target <= n) continue;
      faiss::InvertedLists::ScopedCodes codes(lists, l);
      faiss::InvertedLists::ScopedIds ids(lists, l);
      std::vector<uint8_t> ownCodes(codes.get(), codes.get() + n * lists->code_size);
      std::vector<idx_t> ownIds(ids.get(), ids.get() + n);
      for (size_t have = n; have < target; have += std::min(n, target - have)) {
        lists->add_entries(l, std::min(n, target - have), ownIds.data(), ownCodes.data());
      }
      added += target - n;
    }
    ivf->ntotal += added;
    return 0;
  });
}

JNIEXPORT void JNICALL Java_io_imgvec_faiss_FaissNative_add(JNIEnv* env, jclass, jlong h, jlong n, jfloatArray x,
                                                             jlongArray ids) {
  guarded(env, [&]() -> int {
    Floats xs(env, x);
    if (ids == nullptr) {
      idx(h)->add(n, xs.data);
    } else {
      std::vector<idx_t> labels(n);
      env->GetLongArrayRegion(ids, 0, n, reinterpret_cast<jlong*>(labels.data()));
      checkRegion(env);
      idx(h)->add_with_ids(n, xs.data, labels.data());
    }
    return 0;
  });
}

JNIEXPORT jlong JNICALL Java_io_imgvec_faiss_FaissNative_removeIds(JNIEnv* env, jclass, jlong h, jlongArray ids) {
  jlong removed = 0;
  guarded(env, [&]() -> int {
    std::vector<idx_t> labels(env->GetArrayLength(ids));
    env->GetLongArrayRegion(ids, 0, labels.size(), reinterpret_cast<jlong*>(labels.data()));
    checkRegion(env);
    faiss::IDSelectorBatch selected(labels.size(), labels.data());
    removed = static_cast<jlong>(idx(h)->remove_ids(selected));
    return 0;
  });
  return removed;
}

JNIEXPORT void JNICALL Java_io_imgvec_faiss_FaissNative_search(JNIEnv* env, jclass, jlong h, jlong n, jfloatArray x,
                                                                jint k, jint nprobe, jint efSearch, jlong maxCodes,
                                                                jobject allowedBitmap, jlongArray probedLists,
                                                                jfloatArray probedDistances, jfloatArray distances,
                                                                jlongArray labels) {
  guarded(env, [&]() -> int {
    Floats xs(env, x);
    std::vector<float> d(static_cast<size_t>(n) * k);
    std::vector<idx_t> l(static_cast<size_t>(n) * k);
    std::vector<std::unique_ptr<faiss::SearchParameters>> owned;
    std::unique_ptr<faiss::IDSelectorBitmap> sel;
    auto* ivf = dynamic_cast<faiss::IndexIVF*>(idx(h));
    if (allowedBitmap != nullptr) {  // a direct ByteBuffer (IdBitmap), read in place
      if (ivf == nullptr) throw std::runtime_error("id filters need an IVF index");
      auto* bits = static_cast<const uint8_t*>(env->GetDirectBufferAddress(allowedBitmap));
      jlong bytes = env->GetDirectBufferCapacity(allowedBitmap);
      if (bytes < 0 || (bytes > 0 && bits == nullptr)) throw std::runtime_error("the id bitmap is not a direct buffer");
      sel = std::make_unique<faiss::IDSelectorBitmap>(static_cast<size_t>(bytes), bits);
    }
    if (probedLists == nullptr) {
      faiss::SearchParameters* params = paramsFor(idx(h), nprobe, efSearch, maxCodes, owned, sel.get());
      searchIndex(idx(h), n, xs.data, k, d.data(), l.data(), params);
    } else {  // the lists each query probes were found once for every shard (probe())
      if (ivf == nullptr) throw std::runtime_error("a search of probed lists needs an IVF index");
      std::vector<idx_t> lists(env->GetArrayLength(probedLists));
      std::vector<float> listDistances(lists.size());
      env->GetLongArrayRegion(probedLists, 0, lists.size(), reinterpret_cast<jlong*>(lists.data()));
      env->GetFloatArrayRegion(probedDistances, 0, listDistances.size(), listDistances.data());
      checkRegion(env);
      faiss::SearchParametersIVF params;
      params.sel = sel.get();
      params.nprobe = n > 0 ? lists.size() / n : 0;
      params.max_codes = maxCodes > 0 ? maxCodes : ivf->max_codes;
      ivf->search_preassigned(n, xs.data, k, lists.data(), listDistances.data(), d.data(), l.data(), false, &params);
    }
    env->SetFloatArrayRegion(distances, 0, d.size(), d.data());
    checkRegion(env);
    env->SetLongArrayRegion(labels, 0, l.size(), reinterpret_cast<jlong*>(l.data()));
    checkRegion(env);
    return 0;
  });
}

// The nprobe lists (at most nlist) an IVF index's coarse quantizer finds for each query, nearest first, with their
// distances; returns how many a query: what search() then scans. Shards are copies of one trained index, so one quantizer search
// serves them all.
JNIEXPORT jint JNICALL Java_io_imgvec_faiss_FaissNative_probe(JNIEnv* env, jclass, jlong h, jlong n, jfloatArray x,
                                                               jint nprobe, jint efSearch, jlongArray lists,
                                                               jfloatArray listDistances) {
  return guarded(env, [&]() -> jint {
    auto* ivf = dynamic_cast<faiss::IndexIVF*>(idx(h));
    if (ivf == nullptr) throw std::runtime_error("probing lists needs an IVF index");
    // search_preassigned reads min(nprobe, nlist) lists a query, so the lists are laid out that many a query
    jint probed = static_cast<jint>(std::min<size_t>(nprobe, ivf->nlist));
    Floats xs(env, x);
    std::vector<idx_t> l(static_cast<size_t>(n) * probed);
    std::vector<float> d(l.size());
    std::vector<std::unique_ptr<faiss::SearchParameters>> owned;
    faiss::SearchParameters* coarse = efSearch > 0 ? paramsFor(ivf->quantizer, 0, efSearch, 0, owned) : nullptr;
    ivf->quantizer->search(n, xs.data, probed, d.data(), l.data(), coarse);
    env->SetLongArrayRegion(lists, 0, l.size(), reinterpret_cast<jlong*>(l.data()));
    checkRegion(env);
    env->SetFloatArrayRegion(listDistances, 0, d.size(), d.data());
    checkRegion(env);
    return probed;
  });
}

// The work each query does, four counts per query in `counts`: codes scanned, inverted lists probed, and the coarse
// quantizer's distances (a flat one's: nlist; an HNSW one's: those it computed, apart). An IVF index's lists are
// summed, not scanned (countProbes); `search` (or a plain Flat index, which counts as a flat quantizer of its
// vectors, an HNSW graph, whose distances count as vectors compared outside any list, or a transform before the
// quantizer) searches each query alone with FAISS's counters reset before each (countBySearching). The counters
// are process-wide: a concurrent search elsewhere would add to them.
JNIEXPORT void JNICALL Java_io_imgvec_faiss_FaissNative_searchWork(JNIEnv* env, jclass, jlong h, jlong n,
                                                                    jfloatArray x, jint k, jint nprobe,
                                                                    jint efSearch, jlong maxCodes, jboolean search,
                                                                    jlongArray counts) {
  guarded(env, [&]() -> int {
    Floats xs(env, x);
    faiss::Index* index = idx(h);
    faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(index);
    bool graph = dynamic_cast<faiss::IndexHNSW*>(unwrapIdMap(index)) != nullptr;
    if (ivf == nullptr && dynamic_cast<faiss::IndexFlat*>(index) == nullptr && !graph) {
      throw std::runtime_error("search work is counted for IVF, HNSW and Flat indexes");
    }
    std::vector<jlong> work(static_cast<size_t>(n) * 4);
    // a transform changes the queries before the quantizer sees them: those are counted by searching
    if (search || ivf == nullptr || dynamic_cast<faiss::IndexPreTransform*>(index) != nullptr) {
      countBySearching(index, ivf, n, xs.data, k, nprobe, efSearch, maxCodes, work.data());
    } else {
      countProbes(ivf, n, xs.data, nprobe, efSearch, maxCodes, work.data());
    }
    env->SetLongArrayRegion(counts, 0, work.size(), work.data());
    checkRegion(env);
    return 0;
  });
}

constexpr jint kRowsAhead = 4;

// One query's distances to the stored rows of ids[offset, offset + count) (see Sq8Distances): rows of d bytes, d the
// query's length, in direct buffers of rowsPerChunk rows each. Negative ids are skipped (their distance is 0).
JNIEXPORT void JNICALL Java_io_imgvec_faiss_FaissNative_sq8Distances(JNIEnv* env, jclass, jobjectArray chunks,
                                                                      jint rowsPerChunk, jfloatArray query,
                                                                      jfloatArray step, jboolean l2, jlongArray ids,
                                                                      jint offset, jint count, jfloatArray distances) {
  guarded(env, [&]() -> int {
    jsize d = env->GetArrayLength(query);
    if (env->GetArrayLength(step) != d || rowsPerChunk < 1 || count < 0) {
      throw std::runtime_error("a query, its steps and the rows must have one length");
    }
    std::vector<const uint8_t*> rows(env->GetArrayLength(chunks));
    std::vector<jlong> capacity(rows.size());
    for (size_t c = 0; c < rows.size(); c++) {
      jobject chunk = env->GetObjectArrayElement(chunks, static_cast<jsize>(c));
      rows[c] = chunk == nullptr ? nullptr : static_cast<const uint8_t*>(env->GetDirectBufferAddress(chunk));
      capacity[c] = chunk == nullptr ? -1 : env->GetDirectBufferCapacity(chunk);
      env->DeleteLocalRef(chunk);
      if (rows[c] == nullptr) throw std::runtime_error("stored rows must be in direct buffers");
    }
    std::vector<jlong> wanted(count);
    env->GetLongArrayRegion(ids, offset, count, wanted.data());
    checkRegion(env);
    std::vector<const uint8_t*> row(count, nullptr);
    for (jint i = 0; i < count; i++) {
      jlong id = wanted[i];
      if (id < 0) continue;
      size_t chunk = static_cast<size_t>(id / rowsPerChunk);
      jlong at = (id % rowsPerChunk) * d;
      if (chunk >= rows.size() || at + d > capacity[chunk]) {
        throw std::runtime_error("id " + std::to_string(id) + " has no stored row");
      }
      row[i] = rows[chunk] + at;
    }
    std::vector<float> out(count);
    Floats q(env, query), s(env, step);
    for (jint i = 0; i < count; i++) {
      // Rows lie at random in a store far larger than the caches: fetching a few rows ahead overlaps their misses.
      if (i + kRowsAhead < count && row[i + kRowsAhead] != nullptr) {
        for (jint line = 0; line < d; line += 64) __builtin_prefetch(row[i + kRowsAhead] + line);
      }
      if (row[i] == nullptr) continue;
      out[i] = l2 ? imgvec::sq8SquaredL2(q.data, row[i], s.data, d) : imgvec::sq8Dot(q.data, row[i], d);
    }
    env->SetFloatArrayRegion(distances, 0, count, out.data());
    checkRegion(env);
    return 0;
  });
}

JNIEXPORT void JNICALL Java_io_imgvec_faiss_FaissNative_write(JNIEnv* env, jclass, jlong h, jstring path) {
  guarded(env, [&]() -> int {
    faiss::write_index(idx(h), str(env, path).c_str());
    return 0;
  });
}

JNIEXPORT jlong JNICALL Java_io_imgvec_faiss_FaissNative_read(JNIEnv* env, jclass, jstring path, jboolean mmap) {
  return guarded(env, [&]() -> jlong {
    // IO_FLAG_MMAP maps an IVF index's inverted lists from the file instead of reading them into memory.
    int flags = mmap ? (faiss::IO_FLAG_MMAP | faiss::IO_FLAG_READ_ONLY) : 0;
    faiss::Index* index = faiss::read_index(str(env, path).c_str(), flags);
    faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(index);
    if (auto* mapped = ivf == nullptr ? nullptr : dynamic_cast<faiss::OnDiskInvertedLists*>(ivf->invlists)) {
      // by default every search starts up to 32 threads to touch its lists' pages ahead: more than the search costs
      mapped->prefetch_nthread = 0;
    }
    return reinterpret_cast<jlong>(index);
  });
}

// Makes reconstruct(id) work with the external ids. IVF: a hash-table direct map (id -> list, offset). IDMap: replaced
// by an IDMap2 over the same sub-index, which keeps an id -> position map. Returns the handle to use from now on.
JNIEXPORT jlong JNICALL Java_io_imgvec_faiss_FaissNative_makeReconstructible(JNIEnv* env, jclass, jlong h) {
  return guarded(env, [&]() -> jlong {
    faiss::Index* index = idx(h);
    if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(index)) {
      ivf->set_direct_map_type(faiss::DirectMap::Hashtable);
      return h;
    }
    auto* map = dynamic_cast<faiss::IndexIDMap*>(index);
    if (map == nullptr || dynamic_cast<faiss::IndexIDMap2*>(index) != nullptr) return h;
    auto map2 = std::make_unique<faiss::IndexIDMap2>();  // the sub-index constructor insists on an empty index
    map2->index = map->index;
    map2->own_fields = false;  // map still owns the sub-index until the reverse map is built (it may throw)
    map2->id_map = map->id_map;
    map2->d = map->d;
    map2->ntotal = map->ntotal;
    map2->metric_type = map->metric_type;
    map2->is_trained = map->is_trained;
    map2->construct_rev_map();
    map2->own_fields = map->own_fields;
    map->own_fields = false;
    delete map;
    return reinterpret_cast<jlong>(map2.release());
  });
}

// Stores search parameters in the index itself (IVF nprobe and max_codes, HNSW efSearch, also inside IDMap or a
// pre-transform), so that a stock FAISS reader of the written file searches as imgvec does.
JNIEXPORT void JNICALL Java_io_imgvec_faiss_FaissNative_setSearchDefaults(JNIEnv* env, jclass, jlong h, jint nprobe,
                                                                           jint efSearch, jlong maxCodes) {
  guarded(env, [&]() -> int {
    if (faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(idx(h))) {
      if (nprobe > 0) ivf->nprobe = std::min<size_t>(nprobe, ivf->nlist);
      if (maxCodes > 0) ivf->max_codes = maxCodes;
      if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(ivf->quantizer); hnsw != nullptr && efSearch > 0) {
        hnsw->hnsw.efSearch = efSearch;
      }
    } else if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(unwrapIdMap(idx(h))); hnsw != nullptr && efSearch > 0) {
      hnsw->hnsw.efSearch = efSearch;
    }
    return 0;
  });
}

JNIEXPORT void JNICALL Java_io_imgvec_faiss_FaissNative_reconstruct(JNIEnv* env, jclass, jlong h, jlong id,
                                                                     jfloatArray out) {
  guarded(env, [&]() -> int {
    std::vector<float> v(idx(h)->d);
    idx(h)->reconstruct(id, v.data());
    env->SetFloatArrayRegion(out, 0, v.size(), v.data());
    checkRegion(env);
    return 0;
  });
}

JNIEXPORT jbyteArray JNICALL Java_io_imgvec_faiss_FaissNative_serialize(JNIEnv* env, jclass, jlong h) {
  return guarded(env, [&]() -> jbyteArray {
    faiss::VectorIOWriter writer;
    faiss::write_index(idx(h), &writer);
    if (writer.data.size() > 0x7ffffff0) throw faiss::FaissException("index too large for a Java byte array");
    jbyteArray out = env->NewByteArray(writer.data.size());
    if (out != nullptr) {
      env->SetByteArrayRegion(out, 0, writer.data.size(), reinterpret_cast<const jbyte*>(writer.data.data()));
    }
    return out;
  });
}

JNIEXPORT jlong JNICALL Java_io_imgvec_faiss_FaissNative_deserialize(JNIEnv* env, jclass, jbyteArray bytes) {
  return guarded(env, [&]() -> jlong {
    faiss::VectorIOReader reader;
    reader.data.resize(env->GetArrayLength(bytes));
    env->GetByteArrayRegion(bytes, 0, reader.data.size(), reinterpret_cast<jbyte*>(reader.data.data()));
    return reinterpret_cast<jlong>(faiss::read_index(&reader));
  });
}

JNIEXPORT jlongArray JNICALL Java_io_imgvec_faiss_FaissNative_listSizes(JNIEnv* env, jclass, jlong h) {
  return guarded(env, [&]() -> jlongArray {
    const faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(idx(h));
    std::vector<jlong> sizes;
    for (size_t l = 0; ivf != nullptr && l < ivf->nlist; l++) sizes.push_back(ivf->invlists->list_size(l));
    jlongArray out = env->NewLongArray(sizes.size());
    if (out != nullptr) env->SetLongArrayRegion(out, 0, sizes.size(), sizes.data());
    checkRegion(env);
    return out;
  });
}

JNIEXPORT jlong JNICALL Java_io_imgvec_faiss_FaissNative_ntotal(JNIEnv*, jclass, jlong h) { return idx(h)->ntotal; }

JNIEXPORT jint JNICALL Java_io_imgvec_faiss_FaissNative_dimension(JNIEnv*, jclass, jlong h) { return idx(h)->d; }

JNIEXPORT jint JNICALL Java_io_imgvec_faiss_FaissNative_metric(JNIEnv*, jclass, jlong h) {
  return static_cast<jint>(idx(h)->metric_type);
}

JNIEXPORT jboolean JNICALL Java_io_imgvec_faiss_FaissNative_isTrained(JNIEnv*, jclass, jlong h) {
  return idx(h)->is_trained;
}

JNIEXPORT void JNICALL Java_io_imgvec_faiss_FaissNative_setNumThreads(JNIEnv*, jclass, jint n) {
  omp_set_num_threads(n);
}

JNIEXPORT jint JNICALL Java_io_imgvec_faiss_FaissNative_maxThreads(JNIEnv*, jclass) { return omp_get_max_threads(); }

}  // extern "C"
