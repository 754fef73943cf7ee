// RAII for libcurl's C handles, shared by the outbound HTTP code in net/.
#pragma once

#include <curl/curl.h>

namespace atelier::net {

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace atelier::net
