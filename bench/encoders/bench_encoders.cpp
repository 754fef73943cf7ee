// Native encoders against libtorch on the same architectures and weights.
//
// tools/make-transformer-fixtures.py --full writes random-weight checkpoints
// of full-size MiniLM-L6 (6 layers, hidden 384) and CLIP ViT-B/32 (image and
// text towers) as Hugging Face folders, and TorchScript traces of the
// torch.nn reference forward with the same weights at batch 1 and 8. This
// program runs both on identical inputs in interleaved rounds with the same
// thread count, checks that they agree, and prints latency and throughput.
//
// usage: bench_encoders DIR [--threads N] [--torch-intraop N] [--rounds R] [--iters I]
#include <ATen/Parallel.h>
#include <cblas.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engines/native/bert.h"
#include "engines/native/clip.h"

using namespace atelier::engines::native;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Milliseconds per call, the median of `iters` calls after one warm-up.
double time_ms(const std::function<void()>& f, int iters) {
  f();
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    auto a = Clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
  }
  return median(t);
}

torch::Tensor ids_tensor(const std::vector<std::vector<std::int32_t>>& ids) {
  auto t =
      torch::empty({static_cast<long>(ids.size()), static_cast<long>(ids[0].size())}, torch::kLong);
  for (std::size_t i = 0; i < ids.size(); ++i)
    for (std::size_t j = 0; j < ids[i].size(); ++j)
      t[static_cast<long>(i)][static_cast<long>(j)] = ids[i][j];
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [--threads N] [--rounds R] [--iters I]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  int threads = 1, rounds = 3, iters = 10, intraop = -1;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--iters")) iters = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--torch-intraop")) intraop = std::atoi(argv[i + 1]);
  }
  openblas_set_num_threads(threads);
  // libtorch's own (OpenMP) intra-op threads; its matrix products run on the
  // same OpenBLAS pool as ours.
  at::set_num_threads(intraop < 0 ? threads : intraop);
  torch::NoGradGuard no_grad;

  auto bert = BertModel::load(dir + "/minilm-l6/config.json", dir + "/minilm-l6/model.safetensors");
  auto clip =
      ClipModel::load(dir + "/clip-vit-b32/config.json", dir + "/clip-vit-b32/model.safetensors");
  if (!bert.is_ok() || !clip.is_ok()) {
    std::fprintf(stderr, "%s %s\n", bert.is_ok() ? "" : bert.status().message().c_str(),
                 clip.is_ok() ? "" : clip.status().message().c_str());
    return 1;
  }
  std::ifstream in(dir + "/bench_inputs.json");
  auto inputs = nlohmann::json::parse(in);

  std::printf(
      "OpenBLAS threads %d, libtorch intra-op threads %d; %d interleaved rounds x %d calls, median "
      "ms per call\n",
      threads, intraop < 0 ? threads : intraop, rounds, iters);
  std::printf("%-22s %5s %11s %11s %9s %12s %12s %10s\n", "model", "batch", "atelier_ms",
              "libtorch_ms", "ratio", "atelier_/s", "libtorch_/s", "max_diff");
  for (int b : {1, 8}) {
    const auto& io = inputs["b" + std::to_string(b)];
    auto bert_ids = io["bert_ids"].get<std::vector<std::vector<std::int32_t>>>();
    auto clip_ids = io["clip_ids"].get<std::vector<std::vector<std::int32_t>>>();
    std::vector<float> pixels(static_cast<std::size_t>(b) * 3 * 224 * 224);
    std::ifstream(dir + "/pixels_b" + std::to_string(b) + ".f32", std::ios::binary)
        .read(reinterpret_cast<char*>(pixels.data()),
              static_cast<std::streamsize>(pixels.size() * 4));

    auto tb = torch::jit::load(dir + "/bert_b" + std::to_string(b) + ".pt");
    auto tt = torch::jit::load(dir + "/clip_text_b" + std::to_string(b) + ".pt");
    auto ti = torch::jit::load(dir + "/clip_image_b" + std::to_string(b) + ".pt");
    tb.eval();
    tt.eval();
    ti.eval();
    auto bid = ids_tensor(bert_ids), cid = ids_tensor(clip_ids);
    auto bmask = torch::ones_like(bid), cmask = torch::ones_like(cid);
    auto pix = torch::from_blob(pixels.data(), {b, 3, 224, 224}, torch::kFloat).clone();

    struct Case {
      const char* name;
      std::function<std::vector<float>()> ours;
      std::function<torch::Tensor()> theirs;
      std::size_t compare;  // leading values compared
    };
    std::vector<Case> cases = {
        {"minilm-l6 (32 tok)", [&] { return *(*bert)->forward(bert_ids); },
         [&] {
           return tb.forward({bid, bmask}).toTensor();
         },
         384 * 32},
        {"clip-b32 text (20 tok)", [&] { return *(*clip)->encode_text(clip_ids, 49407); },
         [&] {
           return tt.forward({cid, cmask}).toTensor();
         },
         512},
        {"clip-b32 image 224",
         [&] { return (*clip)->encode_image(pixels.data(), static_cast<std::size_t>(b)); },
         [&] { return ti.forward({pix}).toTensor(); }, 512},
    };
    for (auto& c : cases) {
      // Agreement first: the same weights must give the same numbers.
      auto mine = c.ours();
      auto ref = c.theirs().contiguous();
      const float* r = ref.data_ptr<float>();
      double diff = 0;
      const std::size_t n = std::min<std::size_t>(c.compare, mine.size());
      for (std::size_t i = 0; i < n; ++i)
        diff = std::max(diff, static_cast<double>(std::abs(mine[i] - r[i])));
      std::vector<double> ours_ms, torch_ms;
      for (int round = 0; round < rounds; ++round) {
        ours_ms.push_back(time_ms([&] { (void)c.ours(); }, iters));
        torch_ms.push_back(time_ms([&] { (void)c.theirs(); }, iters));
      }
      const double o = median(ours_ms), t = median(torch_ms);
      std::printf("%-22s %5d %11.2f %11.2f %8.2fx %12.1f %12.1f %10.1e\n", c.name, b, o, t, t / o,
                  1000.0 * b / o, 1000.0 * b / t, diff);
      std::fflush(stdout);
    }
  }
  std::printf("ratio = libtorch time / atelier time (above 1: atelier is faster)\n");
  return 0;
}
