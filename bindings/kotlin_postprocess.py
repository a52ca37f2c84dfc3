"""Rewrites the Kotlin file UniFFI generated, for a cheaper cold start and checks that run.

    python3 bindings/kotlin_postprocess.py FILE.kt [--checks]

1. Every FFI callback type becomes a JNA `CallbackProxy` too, so JNA calls it without reflection.
   UniFFI declares each one as a plain `com.sun.jna.Callback`, which JNA calls through
   `Method.invoke`; on a fresh JVM the first reflective call of a method builds its accessor (method
   handles and classes spun at run time). During `KmerConsent.open` the core calls the wrapper's
   mirror once, so every cold open paid for it: about 8% of the main thread's time on this machine
   (async-profiler, fresh JVMs), gone with this change. A `CallbackProxy` (JNA's public interface
   for this case) receives the arguments as an array; the default methods added to each callback
   type convert them as JNA's own DefaultCallbackProxy does and call the typed `callback`, so the
   generated callback objects are unchanged.

2. `--checks` makes `UniffiLib` run UniFFI's contract-version and API-checksum checks before it
   registers anything. UniFFI 0.32 generates them in `IntegrityCheckingUniffiLib`, but only
   `uniffiEnsureInitialized()` runs them, and nothing in the generated code or our wrapper calls it:
   without this they never run. The JVM test build asks for them (its library and bindings are built
   separately, and KMER_CONSENT_LIB_DIR can point the tests at another build); the AAR, whose library
   and bindings come out of one Gradle build, omits them (uniffi.toml's `omit_checksums`).

Measured and left out: registering only the dozen FFI functions the open path calls at load (the
other 96 on first use) and handing each callback table to the core when the first object of its
interface is lowered. Each saved about 1% of a cold open, within the noise: JNA's cost is in its
first registration (its FFI types, the library search) whatever the number of functions, and the
bare JNA baseline pays that too.

The script fails, and the build with it, when the generated code is not shaped as expected (a
callback type it cannot read, an argument type it has no conversion for, no `UniffiLib` init to add
the checks to); it refuses a file it has already rewritten. Generated code is build output: see the
result in bindings/generated/.
"""
import re
import sys

MARKER = "Added by bindings/kotlin_postprocess.py"


def fail(message, hint=" (has UniFFI's Kotlin template changed?)"):
    sys.exit(f"bindings/kotlin_postprocess.py: {message}{hint}")


def one(pattern, text, what, flags=0):
    found = list(re.finditer(pattern, text, flags))
    if len(found) != 1:
        fail(f"expected exactly one {what}, found {len(found)}")
    return found[0]


def run_checks_at_load(text):
    init = one(
        r"^internal object UniffiLib \{\n(?:.*\n)*?    init \{\n(?=        Native\.register\(UniffiLib::class\.java, )",
        text,
        "UniffiLib init block starting with Native.register",
        re.M,
    )
    return (
        text[: init.end()]
        + f"        // {MARKER} --checks: UniFFI's contract and checksum\n"
        "        // checks, which nothing else runs, before any function is registered.\n"
        "        IntegrityCheckingUniffiLib.ensureInitialized()\n"
        + text[init.end() :]
    )


def callbacks_without_reflection(text):
    """Every FFI callback type is also a JNA CallbackProxy, so JNA calls it without reflection.

    JNA calls a plain `Callback` through `Method.invoke`; on a fresh JVM the first reflective call of
    each method builds its accessor (method handles, classes spun at run time), which was the largest
    single cost of the core's first call into Kotlin (the mirror, during `KmerConsent.open`). A
    `CallbackProxy` (JNA's public interface for this) receives the arguments as an array instead; the
    default methods added to each interface convert them exactly as JNA's own DefaultCallbackProxy
    does (a Structure by value copied out of the pointer JNA passes, one by reference read before
    the call and written back after it; primitives as they come) and call the typed `callback`.
    """
    callback = re.compile(
        r"^internal interface (\w+) : com\.sun\.jna\.Callback \{\n"
        r"    fun callback\((.*)\)\n(?:    : (\w+)\n)?\}\n",
        re.M,
    )
    count = 0

    def structure(kotlin):
        """Whether the generated code declares `kotlin` (or, for `X.ByValue`, X) as a JNA Structure."""
        declared = re.search(rf"^(?:internal )?(?:open )?class {re.escape(kotlin.split('.')[0])}\b([^{{]*)\{{", text, re.M)
        return declared is not None and declared.group(1).rstrip().endswith(": Structure()")

    def rewrite(match):
        nonlocal count
        name, params, returns = match.group(1), match.group(2), match.group(3)
        types = [p.split(":", 1)[1].strip() for p in params.split(",") if p.strip()]
        if not types:
            fail(f"{name} takes no argument")
        classes, reads, by_reference = [], [], []
        for i, kotlin in enumerate(types):
            if kotlin in PRIMITIVES:
                classes.append(f"{kotlin}::class.javaPrimitiveType!!")
                reads.append(f"args[{i}] as {kotlin}")
            elif kotlin == "Pointer":
                classes.append("Pointer::class.java")
                reads.append(f"args[{i}] as Pointer")
            elif re.fullmatch(r"\w+\.(?:Uniffi)?ByValue", kotlin) and structure(kotlin):
                classes.append(f"{kotlin}::class.java")
                reads.append(f"uniffiStructByValue(args[{i}], {kotlin}::class.java)")
            elif re.fullmatch(r"\w+", kotlin) and structure(kotlin):
                classes.append(f"{kotlin}::class.java")
                reads.append(f"s{i}")
                by_reference.append((i, kotlin))
            else:
                fail(f"{name}: no conversion for an argument of type {kotlin}")
        if returns not in (None, *PRIMITIVES):
            fail(f"{name}: no conversion for a result of type {returns}")
        count += 1
        call = f"callback({', '.join(reads)})"
        return (
            f"internal interface {name} : com.sun.jna.Callback, com.sun.jna.CallbackProxy {{\n"
            f"    fun callback({params})\n" + (f"    : {returns}\n" if returns else "") + "\n"
            f"    // {MARKER}: JNA calls this one, not callback(...) through\n"
            "    // reflection; it converts as JNA's DefaultCallbackProxy does.\n"
            "    override fun getParameterTypes(): Array<Class<*>> = arrayOf(" + ", ".join(classes) + ")\n"
            "    override fun getReturnType(): Class<*> = "
            + (f"{returns}::class.javaPrimitiveType!!" if returns else "Void.TYPE") + "\n"
            "    override fun callback(args: Array<Any?>): Any? = try {\n"
            + "".join(
                f"        val s{i} = uniffiStructByReference(args[{i}], {kotlin}::class.java)\n" for i, kotlin in by_reference
            )
            + "        var result: Any? = null\n"
            "        try {\n"
            + ("            " + (call if returns is None else f"result = {call}") + "\n")
            + "        } catch (e: Throwable) {\n"
            "            com.sun.jna.Native.getCallbackExceptionHandler().uncaughtException(this, e)\n"
            "        }\n"
            # As DefaultCallbackProxy: Structures by reference go back to native memory, thrown or not.
            + "".join(f"        s{i}.autoWrite()\n" for i, _ in by_reference)
            + "        result\n"
            "    } catch (e: Throwable) {\n"
            "        com.sun.jna.Native.getCallbackExceptionHandler().uncaughtException(this, e)\n"
            "        null\n"
            "    }\n"
            "}\n"
        )

    text = callback.sub(rewrite, text)
    left = re.findall(r"^internal interface \w+ : com\.sun\.jna\.Callback \{", text, re.M)
    if left:
        fail(f"{len(left)} callback type(s) not read: {left[0]}")
    helpers = (
        f"\n// {MARKER}: a callback's Structure arguments as JNA's\n"
        "// DefaultCallbackProxy makes them. By value: JNA passes a pointer to the bytes, valid during the\n"
        "// call, copied into a new Structure. By reference: a Structure over the pointer, read now.\n"
        "private fun <T : Structure> uniffiStructByValue(arg: Any?, type: Class<T>): T {\n"
        "    if (type.isInstance(arg)) return type.cast(arg)\n"
        "    val s = Structure.newInstance(type)\n"
        "    val bytes = ByteArray(s.size())\n"
        "    (arg as Pointer).read(0, bytes, 0, bytes.size)\n"
        "    s.pointer.write(0, bytes, 0, bytes.size)\n"
        "    s.read()\n"
        "    return s\n"
        "}\n\n"
        "private fun <T : Structure> uniffiStructByReference(arg: Any?, type: Class<T>): T {\n"
        "    val s = Structure.newInstance(type, arg as Pointer)\n"
        "    s.autoRead()\n"
        "    return s\n"
        "}\n"
    )
    anchor = one(r"^// Define FFI callback types\n", text, "`// Define FFI callback types` comment", re.M)
    text = text[: anchor.start()] + helpers.lstrip("\n") + "\n" + text[anchor.start() :]
    return text, count


PRIMITIVES = ("Long", "Int", "Short", "Byte", "Float", "Double")


def main():
    args = sys.argv[1:]
    checks = "--checks" in args
    paths = [a for a in args if a != "--checks"]
    if len(paths) != 1:
        sys.exit("usage: python3 bindings/kotlin_postprocess.py FILE.kt [--checks]")
    path = paths[0]
    text = open(path, encoding="utf-8").read()
    if MARKER in text:
        fail(f"{path} was already rewritten: run it on freshly generated code only", hint="")
    text, proxies = callbacks_without_reflection(text)
    if checks:
        text = run_checks_at_load(text)
    open(path, "w", encoding="utf-8").write(text)
    print(f"{path}: {proxies} callback types called without reflection{'; checks run at load' if checks else ''}",
          file=sys.stderr)


main()
