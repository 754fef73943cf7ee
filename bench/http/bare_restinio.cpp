// The baseline for bench/http: RESTinio with nothing else, one thread,
// answering a small JSON body. atelier's figures are reported as a ratio of it.
#include <restinio/all.hpp>

#include <cstdlib>

int main(int argc, char** argv) {
  const std::uint16_t port = argc > 1 ? static_cast<std::uint16_t>(std::atoi(argv[1])) : 18090;
  restinio::run(
      restinio::on_this_thread().port(port).address("127.0.0.1").request_handler([](auto req) {
        return req->create_response()
            .append_header(restinio::http_field::content_type, "application/json")
            .set_body(R"({"status":"ok"})")
            .done();
      }));
}
