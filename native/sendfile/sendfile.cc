// sendfile(2) from an open file to a connected, non-blocking TCP socket, for image downloads
// (issue 22; decision 0033). Node has no sendfile for sockets: serving a file costs a read() copy
// from the page cache into a buffer and a write() copy from it into the socket; sendfile hands the
// page-cache pages to the socket without either copy.
//
// One sender thread per process runs all transfers with its own epoll set, so a slow client never
// holds a libuv pool thread and the event loop never waits: send() dup()s both descriptors (the
// transfer owns its copies, so whatever Node does with its own descriptors meanwhile — closing a
// socket the client left, say — can never make a reused descriptor number receive image data),
// queues the transfer and wakes the thread; the thread calls sendfile until the socket's buffer is
// full (EAGAIN), waits for EPOLLOUT on its own descriptor, and when the range is sent, the socket
// fails (EPIPE, ECONNRESET, ...), the file ends early, cancel() asks or the socket accepted no byte
// for the transfer's idle timeout (ETIMEDOUT), closes its copies and reports (id, errno, bytes sent)
// to the JavaScript callback given to init(). The caller must not write to the socket itself until
// that report. The idle timeout is here because Node sees no activity on a socket the thread writes
// to: its own idle timer would cut off a client that is slow but still reading, so the caller
// suspends that timer for the transfer and this thread times out only a client that stopped. A file whose pages are not cached makes sendfile
// read the disk on the sender thread: that delays the other transfers, never the event loop.
#include <napi.h>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

/** Bytes per sendfile call (the kernel sends what fits in the socket buffer anyway). */
constexpr size_t kMaxCall = 16u << 20;

using Clock = std::chrono::steady_clock;

struct Transfer {
  uint32_t id;
  int sock;
  int file;
  off_t offset;
  size_t left;
  /** Silence allowed: no byte accepted by the socket for this long ends the transfer (zero: forever). */
  Clock::duration idle;
  /** When the socket last accepted bytes (or the transfer was queued). */
  Clock::time_point progress;
  double sent = 0;
  bool registered = false;
};

struct Report {
  uint32_t id;
  int error;
  double sent;
};

class Sender {
 public:
  explicit Sender(Napi::ThreadSafeFunction report) : report_(report) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll_ < 0 || wake_ < 0) throw std::runtime_error(std::string("sendfile: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;  // transfer ids start at 1
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    std::thread([this] { Run(); }).detach();
  }

  /** Queues a transfer of `length` bytes from `offset` (idle timeout `idleMs`, 0: none); returns its id, or -errno. */
  int64_t Send(int sock, int file, int64_t offset, int64_t length, int64_t idleMs) {
    int s = fcntl(sock, F_DUPFD_CLOEXEC, 0);
    if (s < 0) return -errno;
    int f = fcntl(file, F_DUPFD_CLOEXEC, 0);
    if (f < 0) {
      int e = errno;
      close(s);
      return -e;
    }
    auto* t = new Transfer{0, s, f, static_cast<off_t>(offset), static_cast<size_t>(length),
                           std::chrono::milliseconds(idleMs), Clock::now()};
    uint32_t id;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (++next_ == 0) ++next_;
      id = t->id = next_;
      incoming_.push_back(t);
    }
    // From here on `t` belongs to the sender thread, which may have finished and freed it already.
    Wake();
    return id;
  }

  void Cancel(uint32_t id) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      cancels_.push_back(id);
    }
    Wake();
  }

 private:
  void Wake() {
    uint64_t one = 1;
    ssize_t ignored = write(wake_, &one, sizeof one);
    (void)ignored;
  }

  void Run() {
    std::vector<epoll_event> events(64);
    for (;;) {
      int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), WaitMs());
      if (n < 0) {
        if (errno == EINTR) continue;
        return;
      }
      for (int i = 0; i < n; i++) {
        uint64_t key = events[i].data.u64;
        if (key == 0) {
          TakeCommands();
          continue;
        }
        auto found = active_.find(static_cast<uint32_t>(key));
        if (found != active_.end()) Pump(found->second);
      }
      Expire();
    }
  }

  /** epoll_wait's timeout: until the first idle deadline, rounded up (-1: no transfer has one). */
  int WaitMs() const {
    bool any = false;
    Clock::time_point first{};
    for (const auto& entry : active_) {
      const Transfer* t = entry.second;
      if (t->idle.count() == 0) continue;
      Clock::time_point deadline = t->progress + t->idle;
      if (!any || deadline < first) first = deadline;
      any = true;
    }
    if (!any) return -1;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(first - Clock::now()).count();
    if (left <= 0) return 0;
    return left > 60'000 ? 60'000 : static_cast<int>(left);
  }

  /** Ends, with ETIMEDOUT, every transfer whose socket accepted nothing for its idle timeout. */
  void Expire() {
    Clock::time_point now = Clock::now();
    std::vector<Transfer*> silent;
    for (const auto& entry : active_) {
      Transfer* t = entry.second;
      if (t->idle.count() != 0 && now - t->progress >= t->idle) silent.push_back(t);
    }
    for (Transfer* t : silent) Finish(t, ETIMEDOUT);
  }

  void TakeCommands() {
    uint64_t count;
    ssize_t ignored = read(wake_, &count, sizeof count);
    (void)ignored;
    std::vector<Transfer*> fresh;
    std::vector<uint32_t> cancels;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fresh.swap(incoming_);
      cancels.swap(cancels_);
    }
    for (Transfer* t : fresh) active_[t->id] = t;
    // Cancels first: a transfer queued and cancelled in one wake never sends a byte.
    for (uint32_t id : cancels) {
      auto found = active_.find(id);
      if (found != active_.end()) Finish(found->second, ECANCELED);
    }
    for (Transfer* t : fresh) {
      if (active_.count(t->id) != 0) Pump(t);
    }
  }

  void Pump(Transfer* t) {
    while (t->left > 0) {
      size_t want = t->left < kMaxCall ? t->left : kMaxCall;
      ssize_t r = sendfile(t->sock, t->file, &t->offset, want);
      if (r > 0) {
        t->left -= static_cast<size_t>(r);
        t->sent += static_cast<double>(r);
        t->progress = Clock::now();
        continue;
      }
      if (r == 0) break;  // the file is shorter than the range: report what was sent
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        epoll_event ev{};
        ev.events = EPOLLOUT | EPOLLONESHOT;
        ev.data.u64 = t->id;
        if (epoll_ctl(epoll_, t->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, t->sock, &ev) == 0) {
          t->registered = true;
          return;
        }
      }
      Finish(t, errno);
      return;
    }
    Finish(t, 0);
  }

  void Finish(Transfer* t, int error) {
    if (t->registered) epoll_ctl(epoll_, EPOLL_CTL_DEL, t->sock, nullptr);
    close(t->sock);
    close(t->file);
    active_.erase(t->id);
    auto* report = new Report{t->id, error, t->sent};
    delete t;
    if (report_.NonBlockingCall(report, Deliver) != napi_ok) delete report;
  }

  static void Deliver(Napi::Env env, Napi::Function callback, Report* report) {
    if (env != nullptr && callback != nullptr) {
      callback.Call({Napi::Number::New(env, report->id), Napi::Number::New(env, report->error),
                     Napi::Number::New(env, report->sent)});
    }
    delete report;
  }

  Napi::ThreadSafeFunction report_;
  int epoll_ = -1;
  int wake_ = -1;
  std::mutex mutex_;
  uint32_t next_ = 0;
  std::vector<Transfer*> incoming_;
  std::vector<uint32_t> cancels_;
  std::unordered_map<uint32_t, Transfer*> active_;  // sender thread only
};

// One sender per process, made by the first init() and never freed (its thread is detached).
Sender* sender = nullptr;

Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (sender != nullptr) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "init(onReport)");
  auto report = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "glimpse-sendfile", 0, 1);
  report.Unref(env);  // the sockets being served keep the loop alive, not this
  try {
    sender = new Sender(report);
  } catch (const std::exception& e) {
    report.Release();
    throw Napi::Error::New(env, e.what());
  }
  return env.Undefined();
}

Napi::Value Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (sender == nullptr) throw Napi::Error::New(env, "sendfile: init() first");
  if (info.Length() < 5) throw Napi::TypeError::New(env, "send(socketFd, fileFd, offset, length, idleMs)");
  int sock = info[0].As<Napi::Number>().Int32Value();
  int file = info[1].As<Napi::Number>().Int32Value();
  int64_t offset = info[2].As<Napi::Number>().Int64Value();
  int64_t length = info[3].As<Napi::Number>().Int64Value();
  int64_t idleMs = info[4].As<Napi::Number>().Int64Value();
  if (sock < 0 || file < 0 || offset < 0 || length <= 0 || idleMs < 0) throw Napi::RangeError::New(env, "sendfile: bad arguments");
  int64_t id = sender->Send(sock, file, offset, length, idleMs);
  if (id < 0) {
    Napi::Error err = Napi::Error::New(env, std::string("sendfile: dup: ") + std::strerror(static_cast<int>(-id)));
    err.Set("errno", Napi::Number::New(env, static_cast<double>(-id)));
    throw err;
  }
  return Napi::Number::New(env, static_cast<double>(id));
}

Napi::Value Cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (sender != nullptr && info.Length() >= 1) sender->Cancel(info[0].As<Napi::Number>().Uint32Value());
  return env.Undefined();
}

Napi::Object Module(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("send", Napi::Function::New(env, Send));
  exports.Set("cancel", Napi::Function::New(env, Cancel));
  return exports;
}

}  // namespace

NODE_API_MODULE(glimpse_sendfile, Module)
