// Glimpse's binding to librados/librbd's C API: the calls the rbd store driver needs, nothing more.
// Every call that talks to the cluster runs on libuv's thread pool (one AsyncWorker each) and
// returns a Promise, so the event loop never waits for Ceph. Failures reject with an Error whose
// `code` is the errno name librbd returned (ENOENT, EEXIST, EBUSY, ENOSPC, ...).
//
// Handles: Cluster (rados_t) → Pool (rados_ioctx_t) → Image (rbd_image_t). A child keeps its parent
// JS object referenced, so the garbage collector never frees a cluster under an open image. The
// caller closes what it opened (the driver does, in finally blocks) and never closes a handle while
// one of its calls is running; a closed handle refuses further calls (EBADF).
#include <napi.h>
#include <rados/librados.h>
#include <rbd/librbd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace {

const char* ErrnoName(int e) {
  switch (e) {
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EBUSY: return "EBUSY";
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EROFS: return "EROFS";
    case EIO: return "EIO";
    case ENOTCONN: return "ENOTCONN";
    case ESHUTDOWN: return "ESHUTDOWN";
    case EBADF: return "EBADF";
    case ERANGE: return "ERANGE";
    case EFBIG: return "EFBIG";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "EUNKNOWN";
  }
}

Napi::Value CephError(Napi::Env env, const std::string& op, int rc) {
  int e = rc < 0 ? -rc : rc;
  Napi::Error err = Napi::Error::New(env, op + ": " + std::strerror(e));
  err.Set("code", Napi::String::New(env, ErrnoName(e)));
  err.Set("errno", Napi::Number::New(env, e));
  err.Set("syscall", Napi::String::New(env, op));
  return err.Value();
}

Napi::Value Rejected(Napi::Env env, const std::string& op, int rc) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(CephError(env, op, rc));
  return deferred.Promise();
}

// Runs `work` on the thread pool; resolves with `done(env)` when it returned >= 0, rejects with the
// errno otherwise. `keep` holds JS values (the handle, a buffer) alive until the call settles.
class Call : public Napi::AsyncWorker {
 public:
  using Work = std::function<int()>;
  // `kept` is `keep` again: JS handles must not be captured by the lambdas (they die with their scope).
  using Done = std::function<Napi::Value(Napi::Env, Napi::Array kept)>;

  static Napi::Value Run(Napi::Env env, std::string op, std::vector<Napi::Value> keep, Work work, Done done = nullptr) {
    auto* call = new Call(env, std::move(op), std::move(keep), std::move(work), std::move(done));
    Napi::Promise promise = call->deferred_.Promise();
    call->Queue();
    return promise;
  }

 protected:
  void Execute() override { rc_ = work_(); }

  void OnOK() override {
    Napi::Env env = Env();
    if (rc_ < 0) {
      deferred_.Reject(CephError(env, op_, rc_));
      return;
    }
    try {
      deferred_.Resolve(done_ ? done_(env, keep_.Value().As<Napi::Array>()) : env.Undefined());
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Call(Napi::Env env, std::string op, std::vector<Napi::Value> keep, Work work, Done done)
      : Napi::AsyncWorker(env, "glimpse_rbd"), deferred_(Napi::Promise::Deferred::New(env)), op_(std::move(op)),
        work_(std::move(work)), done_(std::move(done)) {
    Napi::Array held = Napi::Array::New(env, keep.size());
    for (uint32_t i = 0; i < keep.size(); i++) held.Set(i, keep[i]);
    keep_ = Napi::Persistent(held.As<Napi::Object>());
  }

  Napi::Promise::Deferred deferred_;
  std::string op_;
  Work work_;
  Done done_;
  Napi::ObjectReference keep_;
  int rc_ = 0;
};

struct Constructors {
  Napi::FunctionReference cluster, pool, image;
};

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

uint64_t SizeArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (v < 0 || v > 9007199254740991.0 || v != static_cast<double>(static_cast<uint64_t>(v))) {
    throw Napi::RangeError::New(info.Env(), std::string(what) + " must be a non-negative integer");
  }
  return static_cast<uint64_t>(v);
}

// ---------------------------------------------------------------- Image

class Image : public Napi::ObjectWrap<Image> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Image", {
      InstanceMethod<&Image::Write>("write"),
      InstanceMethod<&Image::Read>("read"),
      InstanceMethod<&Image::ReadInto>("readInto"),
      InstanceMethod<&Image::Resize>("resize"),
      InstanceMethod<&Image::Size>("size"),
      InstanceMethod<&Image::Flush>("flush"),
      InstanceMethod<&Image::SnapCreate>("snapCreate"),
      InstanceMethod<&Image::SnapProtect>("snapProtect"),
      InstanceMethod<&Image::SnapUnprotect>("snapUnprotect"),
      InstanceMethod<&Image::SnapRemove>("snapRemove"),
      InstanceMethod<&Image::Close>("close"),
    });
  }

  // new Image(External<rbd_image_t>, pool object)
  explicit Image(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Image>(info) {
    image_ = info[0].As<Napi::External<void>>().Data();
    parent_ = Napi::Persistent(info[1].As<Napi::Object>());
  }

  ~Image() override {
    if (image_ != nullptr) rbd_close(image_);
  }

 private:
  Napi::Value Write(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(info.Env(), "data must be a Buffer");
    auto data = info[0].As<Napi::Buffer<char>>();
    uint64_t offset = SizeArg(info, 1, "offset");
    if (image_ == nullptr) return Rejected(info.Env(), "rbd_write", -EBADF);
    rbd_image_t image = image_;
    const char* bytes = data.Data();
    size_t length = data.Length();
    return Call::Run(info.Env(), "rbd_write", {info.This(), data}, [=]() -> int {
      ssize_t n = rbd_write2(image, offset, length, bytes, LIBRADOS_OP_FLAG_FADVISE_DONTNEED);
      if (n < 0) return static_cast<int>(n);
      return static_cast<size_t>(n) == length ? 0 : -EIO;
    });
  }

  Napi::Value Read(const Napi::CallbackInfo& info) {
    uint64_t offset = SizeArg(info, 0, "offset");
    uint64_t length = SizeArg(info, 1, "length");
    if (length > (1u << 30)) throw Napi::RangeError::New(info.Env(), "length must be at most 1 GiB");
    if (image_ == nullptr) return Rejected(info.Env(), "rbd_read", -EBADF);
    rbd_image_t image = image_;
    auto buffer = Napi::Buffer<char>::New(info.Env(), length);
    char* bytes = buffer.Data();
    auto got = std::make_shared<ssize_t>(0);
    return Call::Run(info.Env(), "rbd_read", {info.This(), buffer}, [=]() -> int {
      ssize_t n = rbd_read2(image, offset, length, bytes, LIBRADOS_OP_FLAG_FADVISE_SEQUENTIAL);
      if (n < 0) return static_cast<int>(n);
      *got = n;
      return 0;
    }, [got, length](Napi::Env env, Napi::Array kept) -> Napi::Value {
      auto buffer = kept.Get(1u).As<Napi::Buffer<char>>();
      if (static_cast<uint64_t>(*got) == length) return buffer;
      return Napi::Buffer<char>::Copy(env, buffer.Data(), static_cast<size_t>(*got));
    });
  }

  // readInto(offset, target) → bytes read: fills the caller's buffer (reused across reads, so a
  // download allocates no memory per read); fewer bytes than its length only at the image's end.
  Napi::Value ReadInto(const Napi::CallbackInfo& info) {
    uint64_t offset = SizeArg(info, 0, "offset");
    if (info.Length() < 2 || !info[1].IsBuffer()) throw Napi::TypeError::New(info.Env(), "target must be a Buffer");
    auto target = info[1].As<Napi::Buffer<char>>();
    if (image_ == nullptr) return Rejected(info.Env(), "rbd_read", -EBADF);
    rbd_image_t image = image_;
    char* bytes = target.Data();
    size_t length = target.Length();
    auto got = std::make_shared<ssize_t>(0);
    return Call::Run(info.Env(), "rbd_read", {info.This(), target}, [=]() -> int {
      ssize_t n = rbd_read2(image, offset, length, bytes, LIBRADOS_OP_FLAG_FADVISE_SEQUENTIAL);
      if (n < 0) return static_cast<int>(n);
      *got = n;
      return 0;
    }, [got](Napi::Env env, Napi::Array) -> Napi::Value {
      return Napi::Number::New(env, static_cast<double>(*got));
    });
  }

  Napi::Value Resize(const Napi::CallbackInfo& info) {
    uint64_t size = SizeArg(info, 0, "size");
    if (image_ == nullptr) return Rejected(info.Env(), "rbd_resize", -EBADF);
    rbd_image_t image = image_;
    return Call::Run(info.Env(), "rbd_resize", {info.This()}, [=]() { return rbd_resize(image, size); });
  }

  Napi::Value Size(const Napi::CallbackInfo& info) {
    if (image_ == nullptr) return Rejected(info.Env(), "rbd_get_size", -EBADF);
    rbd_image_t image = image_;
    auto size = std::make_shared<uint64_t>(0);
    return Call::Run(info.Env(), "rbd_get_size", {info.This()}, [=]() { return rbd_get_size(image, size.get()); },
      [size](Napi::Env env, Napi::Array) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(*size)); });
  }

  Napi::Value Flush(const Napi::CallbackInfo& info) {
    if (image_ == nullptr) return Rejected(info.Env(), "rbd_flush", -EBADF);
    rbd_image_t image = image_;
    return Call::Run(info.Env(), "rbd_flush", {info.This()}, [=]() { return rbd_flush(image); });
  }

  Napi::Value Snap(const Napi::CallbackInfo& info, const char* op, int (*fn)(rbd_image_t, const char*)) {
    std::string name = StringArg(info, 0, "snapshot name");
    if (image_ == nullptr) return Rejected(info.Env(), op, -EBADF);
    rbd_image_t image = image_;
    return Call::Run(info.Env(), op, {info.This()}, [=]() { return fn(image, name.c_str()); });
  }
  Napi::Value SnapCreate(const Napi::CallbackInfo& info) { return Snap(info, "rbd_snap_create", rbd_snap_create); }
  Napi::Value SnapProtect(const Napi::CallbackInfo& info) { return Snap(info, "rbd_snap_protect", rbd_snap_protect); }
  Napi::Value SnapUnprotect(const Napi::CallbackInfo& info) { return Snap(info, "rbd_snap_unprotect", rbd_snap_unprotect); }
  Napi::Value SnapRemove(const Napi::CallbackInfo& info) { return Snap(info, "rbd_snap_remove", rbd_snap_remove); }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (image_ == nullptr) return Call::Run(info.Env(), "rbd_close", {}, []() { return 0; });
    rbd_image_t image = image_;
    image_ = nullptr;
    return Call::Run(info.Env(), "rbd_close", {info.This()}, [=]() { return rbd_close(image); });
  }

  rbd_image_t image_ = nullptr;
  Napi::ObjectReference parent_;
};

// ---------------------------------------------------------------- Pool

class Pool : public Napi::ObjectWrap<Pool> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Pool", {
      InstanceMethod<&Pool::Create>("create"),
      InstanceMethod<&Pool::Open>("open"),
      InstanceMethod<&Pool::Remove>("remove"),
      InstanceMethod<&Pool::TrashMove>("trashMove"),
      InstanceMethod<&Pool::Close>("close"),
    });
  }

  // new Pool(External<rados_ioctx_t>, cluster object)
  explicit Pool(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Pool>(info) {
    ioctx_ = info[0].As<Napi::External<void>>().Data();
    parent_ = Napi::Persistent(info[1].As<Napi::Object>());
  }

  ~Pool() override {
    if (ioctx_ != nullptr) rados_ioctx_destroy(ioctx_);
  }

 private:
  // create(name, size, order, features): features 0 = the cluster's rbd_default_features
  Napi::Value Create(const Napi::CallbackInfo& info) {
    std::string name = StringArg(info, 0, "image name");
    uint64_t size = SizeArg(info, 1, "size");
    uint64_t order = SizeArg(info, 2, "order");
    uint64_t features = SizeArg(info, 3, "features");
    if (ioctx_ == nullptr) return Rejected(info.Env(), "rbd_create", -EBADF);
    rados_ioctx_t io = ioctx_;
    return Call::Run(info.Env(), "rbd_create", {info.This()}, [=]() -> int {
      rbd_image_options_t opts;
      rbd_image_options_create(&opts);
      int rc = rbd_image_options_set_uint64(opts, RBD_IMAGE_OPTION_ORDER, order);
      if (rc == 0 && features != 0) rc = rbd_image_options_set_uint64(opts, RBD_IMAGE_OPTION_FEATURES, features);
      if (rc == 0) rc = rbd_create4(io, name.c_str(), size, opts);
      rbd_image_options_destroy(opts);
      return rc;
    });
  }

  // open(name, snapshot | null, readOnly) → Image
  Napi::Value Open(const Napi::CallbackInfo& info) {
    std::string name = StringArg(info, 0, "image name");
    bool hasSnap = info.Length() > 1 && info[1].IsString();
    std::string snap = hasSnap ? info[1].As<Napi::String>().Utf8Value() : "";
    bool readOnly = info.Length() > 2 && info[2].ToBoolean().Value();
    if (ioctx_ == nullptr) return Rejected(info.Env(), "rbd_open", -EBADF);
    rados_ioctx_t io = ioctx_;
    auto image = std::make_shared<rbd_image_t>(nullptr);
    Napi::Object self = info.This().As<Napi::Object>();
    return Call::Run(info.Env(), "rbd_open", {self}, [=]() -> int {
      const char* s = hasSnap ? snap.c_str() : nullptr;
      return readOnly ? rbd_open_read_only(io, name.c_str(), image.get(), s) : rbd_open(io, name.c_str(), image.get(), s);
    }, [image](Napi::Env env, Napi::Array kept) -> Napi::Value {
      auto* ctors = env.GetInstanceData<Constructors>();
      return ctors->image.New({Napi::External<void>::New(env, *image), kept.Get(0u)});
    });
  }

  Napi::Value Remove(const Napi::CallbackInfo& info) {
    std::string name = StringArg(info, 0, "image name");
    if (ioctx_ == nullptr) return Rejected(info.Env(), "rbd_remove", -EBADF);
    rados_ioctx_t io = ioctx_;
    return Call::Run(info.Env(), "rbd_remove", {info.This()}, [=]() { return rbd_remove(io, name.c_str()); });
  }

  Napi::Value TrashMove(const Napi::CallbackInfo& info) {
    std::string name = StringArg(info, 0, "image name");
    if (ioctx_ == nullptr) return Rejected(info.Env(), "rbd_trash_move", -EBADF);
    rados_ioctx_t io = ioctx_;
    return Call::Run(info.Env(), "rbd_trash_move", {info.This()}, [=]() { return rbd_trash_move(io, name.c_str(), 0); });
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (ioctx_ != nullptr) rados_ioctx_destroy(ioctx_);
    ioctx_ = nullptr;
    return info.Env().Undefined();
  }

  rados_ioctx_t ioctx_ = nullptr;
  Napi::ObjectReference parent_;
};

// ---------------------------------------------------------------- Cluster

class Cluster : public Napi::ObjectWrap<Cluster> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Cluster", {
      InstanceMethod<&Cluster::Fsid>("fsid"),
      InstanceMethod<&Cluster::ConfGet>("confGet"),
      InstanceMethod<&Cluster::OpenPool>("openPool"),
      InstanceMethod<&Cluster::Shutdown>("shutdown"),
    });
  }

  // new Cluster(External<rados_t>)
  explicit Cluster(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Cluster>(info) {
    cluster_ = info[0].As<Napi::External<void>>().Data();
  }

  // A cluster handle that was never shut down is left to process exit: rados_shutdown joins
  // librados' threads and may wait for the network, which a garbage-collector finalizer must not.

 private:
  Napi::Value Fsid(const Napi::CallbackInfo& info) {
    if (cluster_ == nullptr) throw Napi::Error(info.Env(), CephError(info.Env(), "rados_cluster_fsid", -EBADF));
    char buf[64] = {0};
    int rc = rados_cluster_fsid(cluster_, buf, sizeof(buf) - 1);
    if (rc < 0) throw Napi::Error(info.Env(), CephError(info.Env(), "rados_cluster_fsid", rc));
    return Napi::String::New(info.Env(), buf);
  }

  Napi::Value ConfGet(const Napi::CallbackInfo& info) {
    std::string key = StringArg(info, 0, "option");
    if (cluster_ == nullptr) throw Napi::Error(info.Env(), CephError(info.Env(), "rados_conf_get", -EBADF));
    char buf[256] = {0};
    int rc = rados_conf_get(cluster_, key.c_str(), buf, sizeof(buf) - 1);
    if (rc < 0) return info.Env().Null();
    return Napi::String::New(info.Env(), buf);
  }

  Napi::Value OpenPool(const Napi::CallbackInfo& info) {
    std::string name = StringArg(info, 0, "pool name");
    if (cluster_ == nullptr) return Rejected(info.Env(), "rados_ioctx_create", -EBADF);
    rados_t cluster = cluster_;
    auto io = std::make_shared<rados_ioctx_t>(nullptr);
    Napi::Object self = info.This().As<Napi::Object>();
    return Call::Run(info.Env(), "rados_ioctx_create", {self}, [=]() { return rados_ioctx_create(cluster, name.c_str(), io.get()); },
      [io](Napi::Env env, Napi::Array kept) -> Napi::Value {
        auto* ctors = env.GetInstanceData<Constructors>();
        return ctors->pool.New({Napi::External<void>::New(env, *io), kept.Get(0u)});
      });
  }

  Napi::Value Shutdown(const Napi::CallbackInfo& info) {
    rados_t cluster = cluster_;
    cluster_ = nullptr;
    return Call::Run(info.Env(), "rados_shutdown", {info.This()}, [=]() {
      if (cluster != nullptr) rados_shutdown(cluster);
      return 0;
    });
  }

  rados_t cluster_ = nullptr;
};

// connect(confPath | '', user | '', timeoutSeconds) → Cluster. timeout < 0: librados' defaults.
Napi::Value Connect(const Napi::CallbackInfo& info) {
  std::string conf = StringArg(info, 0, "conf path");
  std::string user = StringArg(info, 1, "user");
  if (info.Length() < 3 || !info[2].IsNumber()) throw Napi::TypeError::New(info.Env(), "timeout must be a number");
  int64_t timeout = info[2].As<Napi::Number>().Int64Value();
  auto handle = std::make_shared<rados_t>(nullptr);
  return Call::Run(info.Env(), "rados_connect", {}, [=]() -> int {
    rados_t c = nullptr;
    int rc = rados_create(&c, user.empty() ? nullptr : user.c_str());
    if (rc < 0) return rc;
    rc = rados_conf_read_file(c, conf.empty() ? nullptr : conf.c_str());
    if (rc >= 0 && timeout >= 0) {
      std::string t = std::to_string(timeout);
      for (const char* key : {"rados_osd_op_timeout", "rados_mon_op_timeout", "client_mount_timeout"}) {
        if (rc >= 0) rc = rados_conf_set(c, key, t.c_str());
      }
    }
    if (rc >= 0) rc = rados_connect(c);
    if (rc < 0) {
      rados_shutdown(c);
      return rc;
    }
    *handle = c;
    return 0;
  }, [handle](Napi::Env env, Napi::Array) -> Napi::Value {
    auto* ctors = env.GetInstanceData<Constructors>();
    return ctors->cluster.New({Napi::External<void>::New(env, *handle)});
  });
}

Napi::Value Version(const Napi::CallbackInfo& info) {
  int major = 0, minor = 0, extra = 0;
  rbd_version(&major, &minor, &extra);
  return Napi::String::New(info.Env(), std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(extra));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* ctors = new Constructors();
  ctors->cluster = Napi::Persistent(Cluster::Define(env));
  ctors->pool = Napi::Persistent(Pool::Define(env));
  ctors->image = Napi::Persistent(Image::Define(env));
  env.SetInstanceData(ctors);
  exports.Set("connect", Napi::Function::New(env, Connect, "connect"));
  exports.Set("librbdVersion", Napi::Function::New(env, Version, "librbdVersion"));
  exports.Set("FEATURE_LAYERING", Napi::Number::New(env, RBD_FEATURE_LAYERING));
  return exports;
}

}  // namespace

NODE_API_MODULE(glimpse_rbd, Init)
