// The in-process compiler (see clang_jit.h): the only C++ in slimc, because Clang has
// no C API for compiling to object code.
//
//   sources (memory) --Clang driver: cc1 arguments for `clang -c`, as the clang binary
//                      would build them (header paths, -march=native resolved)
//                    --CompilerInstance + EmitObjAction, one thread per source-->
//                      object code (memory)
//                    --memfds--> lld (as a library) --> shared object at out_path
//
// Traps this file handles:
// - the driver asks cc1 for -disable-free (fine for a process that exits right after,
//   a leak of about half a MB per compile in ours): turned off in the invocation;
// - Clang's resource headers (stddef.h, immintrin.h) are found at run time, next to the
//   libclang-cpp that is loaded, else at the path known when slimc was built
//   ($SLIMC_CLANG_RESOURCE_DIR overrides both);
// - lld keeps global state: links are serialised and its context destroyed after each;
// - no OpenMP: the generated code uses slimc's own thread pool and no -fopenmp is passed;
// - the translation units of one request compile on threads of their own (a
//   CompilerInstance each; nothing of Clang's is shared between them but the targets
//   registered once), joined before the link.
//
// JIT code declares the runtime's kernels and links against libslimc_kernels (see
// runtime/slimc_rt.h), so it includes no intrinsics header and compiles in about a tenth
// of the time the self-contained file took; a precompiled <immintrin.h> is not needed.
#include "runtime/clang_jit.h"

#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/Basic/Version.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Driver/Compilation.h>
#include <clang/Driver/Driver.h>
#include <clang/Driver/Job.h>
#include <clang/Driver/Tool.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/CompilerInvocation.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <clang/Lex/PreprocessorOptions.h>
#include <lld/Common/Driver.h>
#include <llvm/ADT/SmallString.h>
#include <llvm/ADT/Triple.h>
#include <llvm/Support/Host.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#ifndef SLIMC_CLANG_RESOURCE_DIR
#define SLIMC_CLANG_RESOURCE_DIR ""
#endif
#ifndef SLIMC_CLANG_PATH
#define SLIMC_CLANG_PATH "clang"
#endif

namespace
{

const char kInputName[] = "slimc_model.c";

bool has_stddef(const std::string &dir)
{
    struct stat st;
    return !dir.empty() && stat((dir + "/include/stddef.h").c_str(), &st) == 0;
}

// Clang's resource directory, or "" when none has stddef.h.
std::string find_resource_dir()
{
    const char *env = getenv("SLIMC_CLANG_RESOURCE_DIR");
    if (env && *env)
        return has_stddef(env) ? std::string(env) : std::string();
    // Next to the libclang-cpp that is loaded: LIBDIR/libclang-cpp.so -> LIBDIR/clang/VERSION.
    Dl_info info;
    if (dladdr(reinterpret_cast<void *>(&clang::driver::Driver::GetResourcesPath), &info) &&
        info.dli_fname) {
        char real[PATH_MAX];
        if (realpath(info.dli_fname, real)) {
            std::string lib(real);
            size_t slash = lib.rfind('/');
            if (slash != std::string::npos) {
                std::string dir = lib.substr(0, slash) + "/clang/" + CLANG_VERSION_STRING;
                if (has_stddef(dir))
                    return dir;
            }
        }
    }
    if (has_stddef(SLIMC_CLANG_RESOURCE_DIR))
        return SLIMC_CLANG_RESOURCE_DIR;
    return std::string();
}

std::once_flag init_once;
std::mutex lld_lock; // lld 14 keeps its state in globals

void init_llvm()
{
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
}

char *dup_string(const std::string &s)
{
    char *p = static_cast<char *>(malloc(s.size() + 1));
    if (p)
        memcpy(p, s.c_str(), s.size() + 1);
    return p;
}

// The cc1 invocation for `clang -c` with our flags, built by the driver. nullptr (and a
// message in log) on failure.
// extra: more driver arguments, ending with the input.
std::shared_ptr<clang::CompilerInvocation> make_invocation(const SlimcClangRequest *req,
                                                           const std::string &resource_dir,
                                                           const std::vector<const char *> &extra,
                                                           clang::DiagnosticsEngine &diags,
                                                           std::string &log)
{
    clang::driver::Driver driver(SLIMC_CLANG_PATH, llvm::sys::getDefaultTargetTriple(), diags);
    driver.setCheckInputsExist(false);
    std::string opt = "-O" + std::to_string(req->opt_level < 0   ? 0
                                            : req->opt_level > 3 ? 3
                                                                 : req->opt_level);
    std::string march = std::string("-march=") + (req->cpu && *req->cpu ? req->cpu : "native");
    std::vector<const char *> args = {"clang", "-std=c11", opt.c_str(),     march.c_str(),
                                      "-fPIC", "-pthread", "-resource-dir", resource_dir.c_str()};
    args.insert(args.end(), extra.begin(), extra.end());
    std::unique_ptr<clang::driver::Compilation> comp(driver.BuildCompilation(args));
    if (!comp || diags.hasErrorOccurred()) {
        log += "clang: cannot build the compile job\n";
        return nullptr;
    }
    const clang::driver::JobList &jobs = comp->getJobs();
    if (jobs.size() != 1 || !llvm::isa<clang::driver::Command>(*jobs.begin())) {
        log += "clang: expected exactly one compile job\n";
        return nullptr;
    }
    const auto &cmd = llvm::cast<clang::driver::Command>(*jobs.begin());
    llvm::ArrayRef<const char *> cc1 = cmd.getArguments();
    if (!cc1.empty() && strcmp(cc1[0], "-cc1") == 0)
        cc1 = cc1.drop_front();
    auto inv = std::make_shared<clang::CompilerInvocation>();
    if (!clang::CompilerInvocation::CreateFromArgs(*inv, cc1, diags) || diags.hasErrorOccurred())
        return nullptr;
    inv->getFrontendOpts().DisableFree = false; // the driver's -disable-free leaks per compile
    inv->getCodeGenOpts().DisableFree = false;
    return inv;
}

// Compiles the request's source i (named kInputName) to object code in obj.
bool compile_object(const SlimcClangRequest *req, int i, const std::string &resource_dir,
                    llvm::SmallVectorImpl<char> &obj, std::string &log)
{
    llvm::raw_string_ostream los(log);
    llvm::IntrusiveRefCntPtr<clang::DiagnosticOptions> dopts(new clang::DiagnosticOptions());
    llvm::IntrusiveRefCntPtr<clang::DiagnosticIDs> ids(new clang::DiagnosticIDs());
    clang::DiagnosticsEngine diags(ids, dopts, new clang::TextDiagnosticPrinter(los, dopts.get()));
    std::vector<const char *> extra = {"-c", kInputName};
    std::shared_ptr<clang::CompilerInvocation> inv =
        make_invocation(req, resource_dir, extra, diags, log);
    if (!inv) {
        los.flush();
        return false;
    }
    // The source is an in-memory file; the preprocessor frees the buffer when done.
    inv->getPreprocessorOpts().addRemappedFile(
        kInputName, llvm::MemoryBuffer::getMemBufferCopy(
                        llvm::StringRef(req->srcs[i], req->lens[i]), kInputName)
                        .release());
    inv->getPreprocessorOpts().RetainRemappedFileBuffers = false;

    clang::CompilerInstance ci;
    ci.setInvocation(inv);
    ci.createDiagnostics(new clang::TextDiagnosticPrinter(los, &inv->getDiagnosticOpts()), true);
    ci.setVerboseOutputStream(los); // "N errors generated." goes with the messages
    ci.setOutputStream(std::make_unique<llvm::raw_svector_ostream>(obj));
    clang::EmitObjAction action;
    bool ok = ci.ExecuteAction(action) && !ci.getDiagnostics().hasErrorOccurred();
    los.flush();
    return ok && !obj.empty();
}

// An in-memory file (a memfd) holding obj, for lld to read; -1 (with a message) on failure.
int object_file(const llvm::SmallVectorImpl<char> &obj, std::string &log)
{
    int fd = memfd_create("slimc-object", MFD_CLOEXEC);
    if (fd < 0) {
        log += "cannot create an in-memory file for the object code\n";
        return -1;
    }
    size_t done = 0;
    while (done < obj.size()) {
        ssize_t w = write(fd, obj.data() + done, obj.size() - done);
        if (w <= 0)
            break;
        done += static_cast<size_t>(w);
    }
    if (done < obj.size()) {
        close(fd);
        log += "cannot write the object code to memory\n";
        return -1;
    }
    return fd;
}

// Links the objects (handed to lld as in-memory files) into one shared object.
bool link_shared(const std::vector<llvm::SmallVector<char, 0>> &objs, const char *out_path,
                 std::string &log)
{
    std::vector<int> fds;
    std::vector<std::string> obj_paths;
    bool ok = true;
    for (const auto &obj : objs) {
        int fd = object_file(obj, log);
        if (fd < 0) {
            ok = false;
            break;
        }
        fds.push_back(fd);
        obj_paths.push_back("/proc/self/fd/" + std::to_string(fd));
    }
    std::vector<const char *> args = {"ld.lld", "-shared", "--hash-style=gnu", "-z", "noexecstack",
                                      "-o",     out_path};
    for (const std::string &p : obj_paths)
        args.push_back(p.c_str());
    // libm and libc as DT_NEEDED, so the shared object describes what it needs.
    static const char *const multiarch[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"};
    for (const char *dir : multiarch) {
        struct stat st;
        if (stat((std::string(dir) + "/libm.so").c_str(), &st) == 0) {
            args.push_back("-L");
            args.push_back(dir);
            args.push_back("--as-needed");
            args.push_back("-lm");
            args.push_back("-lc");
            break;
        }
    }
    if (ok) {
        std::lock_guard<std::mutex> guard(lld_lock);
        std::string out_text;
        llvm::raw_string_ostream out(out_text), err(log);
        ok = lld::elf::link(args, out, err, /*exitEarly=*/false, /*disableOutput=*/false);
        out.flush();
        err.flush();
        lld::CommonLinkerContext::destroy();
    }
    for (int fd : fds)
        close(fd);
    return ok;
}

} // namespace

extern "C" int slimc_clang_compile_so(const SlimcClangRequest *req, char **log)
{
    *log = nullptr;
    if (!req || req->abi != SLIMC_CLANG_JIT_ABI) {
        *log = dup_string("libslimc_llvm: ABI mismatch with the slimc that loaded it");
        return SLIMC_CLANG_UNAVAILABLE;
    }
    std::string resource_dir = find_resource_dir();
    if (resource_dir.empty()) {
        *log = dup_string(
            "Clang's resource headers (stddef.h) were not found (set SLIMC_CLANG_RESOURCE_DIR to "
            "the directory that holds include/stddef.h)");
        return SLIMC_CLANG_UNAVAILABLE;
    }
    if (req->n_srcs < 1) {
        *log = dup_string("libslimc_llvm: no source to compile");
        return SLIMC_CLANG_FAILED;
    }
    std::call_once(init_once, init_llvm);
    // One thread per translation unit but the last, which this thread compiles; each
    // writes only its own object and log.
    const size_t n = static_cast<size_t>(req->n_srcs);
    std::vector<llvm::SmallVector<char, 0>> objs(n);
    std::vector<std::string> logs(n);
    std::vector<char> oks(n, 0);
    std::vector<std::thread> threads;
    for (size_t i = 0; i + 1 < n; i++)
        threads.emplace_back([&, i] {
            oks[i] = compile_object(req, static_cast<int>(i), resource_dir, objs[i], logs[i]);
        });
    oks[n - 1] =
        compile_object(req, static_cast<int>(n - 1), resource_dir, objs[n - 1], logs[n - 1]);
    for (std::thread &t : threads)
        t.join();
    std::string text;
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        text += logs[i];
        ok = ok && oks[i];
    }
    if (!ok || !link_shared(objs, req->out_path, text)) {
        *log = dup_string(text.empty() ? std::string("clang: compilation failed") : text);
        return SLIMC_CLANG_FAILED;
    }
    return SLIMC_CLANG_OK;
}

extern "C" const char *slimc_clang_version(void)
{
    return "clang " CLANG_VERSION_STRING;
}
