import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import org.objectweb.asm.AnnotationVisitor;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.FieldVisitor;
import org.objectweb.asm.Handle;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;

/**
 * Checks that the Android library calls nothing above its minSdk without checking the API level
 * first: the question Android Lint's NewApi check answers, asked of the compiled classes.
 *
 * <p>Usage: {@code java -cp asm.jar ApiLevelCheck.java MIN_SDK ANDROID_ALL_MIN_JAR CLASSES_DIR}
 *
 * <p>What it checks. Every class, method and field that the library's bytecode references (calls,
 * field accesses, types in signatures, casts, class literals, catch types, lambdas' interfaces and
 * targets) whose owner is the platform's ({@code android.*}, {@code dalvik.*}, {@code java.*} and
 * {@code javax.*} but {@code java.lang.*}, {@code org.json}, {@code org.w3c}, {@code org.xml}) must
 * exist in the framework jar of the minimum API level (Robolectric's android-all: AOSP's framework
 * and the libcore it carries), looked up through superclasses and interfaces as the JVM resolves it.
 * A call the library makes on its own subclass of a framework class (a Dialog's {@code setContentView})
 * is looked up in that framework superclass. A missing package is a missing class.
 *
 * <p>Guards. A reference that does not resolve is allowed only inside a class or method annotated
 * {@code @RequiresApi} (androidx), and such a class or method may be used only from a method that reads
 * {@code Build.VERSION.SDK_INT}. That is a heuristic: it does not compare the level tested with the
 * level required, and any read of SDK_INT in the calling method counts.
 *
 * <p>Not checked. {@code java.lang.*} (the jar has none: Robolectric runs on the JDK's), counted as
 * unchecked. The jar is the whole framework, so hidden ({@code @hide}) members pass as well; Lint on a
 * machine with the SDK checks the public surface.
 *
 * <p>Prints each finding and exits 1 if any reference is unguarded or no class was read.
 */
public final class ApiLevelCheck {
    private static final String REQUIRES_API = "Landroidx/annotation/RequiresApi;";
    private static final String SDK_INT_OWNER = "android/os/Build$VERSION";
    private static final List<String> PLATFORM_PACKAGES =
        List.of("android/", "dalvik/", "java/", "javax/", "org/json/", "org/w3c/", "org/xml/");

    /** One class, of the framework jar or of the library: what it declares and inherits from. */
    private record ClassInfo(String superName, List<String> interfaces, Set<String> members) {}

    private final ZipFile framework;
    private final Map<String, ClassInfo> frameworkCache = new HashMap<>();
    private final Map<String, ClassInfo> library;
    private final Set<String> uncheckedInherited = new TreeSet<>();

    private ApiLevelCheck(ZipFile framework, Map<String, ClassInfo> library) {
        this.framework = framework;
        this.library = library;
    }

    private static ClassInfo read(ClassReader reader) {
        var members = new TreeSet<String>();
        reader.accept(new ClassVisitor(Opcodes.ASM9) {
            @Override
            public FieldVisitor visitField(int access, String n, String d, String s, Object v) {
                members.add(n);
                return null;
            }

            @Override
            public MethodVisitor visitMethod(int access, String n, String d, String s, String[] e) {
                members.add(n + d);
                return null;
            }
        }, ClassReader.SKIP_CODE);
        return new ClassInfo(reader.getSuperName(), List.of(reader.getInterfaces()), members);
    }

    private ClassInfo frameworkClass(String internalName) {
        return frameworkCache.computeIfAbsent(internalName, name -> {
            var entry = framework.getEntry(name + ".class");
            if (entry == null) return null;
            try (InputStream in = framework.getInputStream(entry)) {
                return read(new ClassReader(in));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
    }

    private static boolean platform(String owner) {
        return !owner.startsWith("java/lang/") && PLATFORM_PACKAGES.stream().anyMatch(owner::startsWith);
    }

    /** What every class inherits from java.lang.Object, which the framework jar does not carry. */
    private static final Set<String> OBJECT_METHODS = Set.of("hashCode()I", "equals(Ljava/lang/Object;)Z",
        "toString()Ljava/lang/String;", "getClass()Ljava/lang/Class;", "notify()V", "notifyAll()V", "wait()V",
        "wait(J)V", "wait(JI)V", "clone()Ljava/lang/Object;", "finalize()V");

    /**
     * Resolves a member of a framework class the way the JVM does: the class, its superclasses, then its
     * interfaces. Returns false if the class or the member is missing at the minimum level.
     */
    private boolean frameworkHasMember(String owner, String member) {
        ClassInfo c = frameworkClass(owner);
        if (c == null) return false;
        if (c.members().contains(member)) return true;
        for (String i : c.interfaces()) if (frameworkHasMember(i, member)) return true;
        String parent = c.superName();
        if (parent == null || parent.equals("java/lang/Object")) return OBJECT_METHODS.contains(member);
        if (parent.startsWith("java/lang/")) {
            // Thread, Exception, Enum…: not in the jar, so what they declare cannot be decided here.
            uncheckedInherited.add(owner + "." + member);
            return true;
        }
        return frameworkHasMember(parent, member);
    }

    /**
     * The framework class a member reference really lands in, for a reference made on one of the
     * library's own classes: the first framework class up its hierarchy, or null if the library
     * declares the member itself (or it comes from outside the platform).
     */
    private String frameworkOwner(String owner, String member) {
        ClassInfo c = library.get(owner);
        if (c == null) return platform(owner) ? owner : null;
        if (c.members().contains(member)) return null;
        for (String i : c.interfaces()) {
            String found = frameworkOwner(i, member);
            if (found != null && frameworkHasMember(found, member)) return found;
        }
        return c.superName() == null ? null : frameworkOwner(c.superName(), member);
    }

    /** What one class of the library references, and which of its methods read SDK_INT. */
    private static final class Scanned {
        final String name;
        ClassInfo info;
        boolean classRequiresApi;
        final Set<String> methodsRequiringApi = new TreeSet<>();
        final Set<String> methodsReadingSdkInt = new TreeSet<>();
        /** reference ("class X", "method X.m(…)…", "field X.f") → the methods making it ("" for the class). */
        final Map<String, Set<String>> references = new TreeMap<>();

        Scanned(String name) {
            this.name = name;
        }

        void reference(String what, String where) {
            references.computeIfAbsent(what, k -> new TreeSet<>()).add(where);
        }

        void type(Type type, String where) {
            while (type.getSort() == Type.ARRAY) type = type.getElementType();
            if (type.getSort() == Type.OBJECT) reference("class " + type.getInternalName(), where);
            if (type.getSort() == Type.METHOD) {
                for (Type t : type.getArgumentTypes()) type(t, where);
                type(type.getReturnType(), where);
            }
        }

        void constant(Object value, String where) {
            if (value instanceof Type t) type(t, where);
            if (value instanceof Handle h) {
                reference("method " + h.getOwner() + "." + h.getName() + h.getDesc(), where);
                type(Type.getType(h.getDesc()), where);
            }
        }
    }

    private static Scanned scan(Path file) throws IOException {
        var reader = new ClassReader(Files.readAllBytes(file));
        var scanned = new Scanned(reader.getClassName());
        scanned.info = read(reader);
        if (reader.getSuperName() != null) scanned.reference("class " + reader.getSuperName(), "");
        for (String i : reader.getInterfaces()) scanned.reference("class " + i, "");
        reader.accept(new ClassVisitor(Opcodes.ASM9) {
            @Override
            public AnnotationVisitor visitAnnotation(String descriptor, boolean visible) {
                if (descriptor.equals(REQUIRES_API)) scanned.classRequiresApi = true;
                return null;
            }

            @Override
            public MethodVisitor visitMethod(int access, String name, String desc, String sig, String[] ex) {
                String where = name + desc;
                scanned.type(Type.getMethodType(desc), where);
                if (ex != null) for (String e : ex) scanned.reference("class " + e, where);
                return new MethodVisitor(Opcodes.ASM9) {
                    @Override
                    public AnnotationVisitor visitAnnotation(String descriptor, boolean visible) {
                        if (descriptor.equals(REQUIRES_API)) scanned.methodsRequiringApi.add(where);
                        return null;
                    }

                    @Override
                    public void visitMethodInsn(int op, String owner, String n, String d, boolean itf) {
                        if (owner.startsWith("[")) return; // clone() of an array
                        scanned.reference("method " + owner + "." + n + d, where);
                    }

                    @Override
                    public void visitFieldInsn(int op, String owner, String n, String d) {
                        if (owner.equals(SDK_INT_OWNER) && n.equals("SDK_INT")) scanned.methodsReadingSdkInt.add(where);
                        scanned.reference("field " + owner + "." + n, where);
                    }

                    @Override
                    public void visitTypeInsn(int op, String type) {
                        scanned.type(Type.getObjectType(type), where);
                    }

                    @Override
                    public void visitLdcInsn(Object value) {
                        scanned.constant(value, where);
                    }

                    @Override
                    public void visitInvokeDynamicInsn(String n, String d, Handle bootstrap, Object... args) {
                        scanned.type(Type.getMethodType(d), where); // the lambda's interface and captures
                        scanned.constant(bootstrap, where);
                        for (Object arg : args) scanned.constant(arg, where);
                    }

                    @Override
                    public void visitTryCatchBlock(Label start, Label end, Label handler, String type) {
                        if (type != null) scanned.reference("class " + type, where);
                    }

                    @Override
                    public void visitMultiANewArrayInsn(String descriptor, int dimensions) {
                        scanned.type(Type.getType(descriptor), where);
                    }
                };
            }

            @Override
            public FieldVisitor visitField(int access, String name, String desc, String sig, Object value) {
                scanned.type(Type.getType(desc), "");
                return null;
            }
        }, 0);
        return scanned;
    }

    public static void main(String[] args) throws IOException {
        int minSdk = Integer.parseInt(args[0]);
        List<Scanned> classes = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Path.of(args[2]))) {
            for (Path file : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".class"))::iterator) {
                classes.add(scan(file));
            }
        }
        if (classes.isEmpty()) {
            System.out.println("api-level: no class in " + args[2]);
            System.exit(1);
        }
        var library = new HashMap<String, ClassInfo>();
        var guardedClasses = new TreeSet<String>();
        var guardedMethods = new TreeSet<String>();
        for (Scanned c : classes) {
            library.put(c.name, c.info);
            if (c.classRequiresApi) guardedClasses.add(c.name);
            for (String m : c.methodsRequiringApi) guardedMethods.add("method " + c.name + "." + m);
        }

        int unguarded = 0;
        int checked = 0;
        var guarded = new TreeSet<String>();
        var uncheckedJavaLang = new TreeSet<String>();
        var reported = new TreeSet<String>();
        try (var framework = new ZipFile(args[1])) {
            var check = new ApiLevelCheck(framework, library);
            for (Scanned c : classes) {
                for (var entry : c.references.entrySet()) {
                    String reference = entry.getKey();
                    String kind = reference.substring(0, reference.indexOf(' '));
                    String rest = reference.substring(kind.length() + 1);
                    String owner = kind.equals("class") ? rest
                        : rest.substring(0, rest.lastIndexOf('.', rest.contains("(") ? rest.indexOf('(') : rest.length()));
                    String member = kind.equals("class") ? null : rest.substring(owner.length() + 1);
                    // The library's own @RequiresApi code: only from code that tests SDK_INT first.
                    if ((guardedClasses.contains(owner) || guardedMethods.contains(reference)) && !c.classRequiresApi) {
                        for (String where : entry.getValue()) {
                            if (c.methodsRequiringApi.contains(where) || c.methodsReadingSdkInt.contains(where)) continue;
                            if (reported.add(c.name + "." + where + " " + owner)) {
                                System.out.printf("UNGUARDED %s.%s uses @RequiresApi %s without reading SDK_INT%n",
                                    c.name, where, guardedClasses.contains(owner) ? owner : reference);
                                unguarded++;
                            }
                        }
                        continue;
                    }
                    if (owner.startsWith("java/lang/")) {
                        uncheckedJavaLang.add(owner);
                        continue;
                    }
                    String target = member == null ? (platform(owner) ? owner : null) : check.frameworkOwner(owner, member);
                    if (target == null) continue;
                    if (target.startsWith("java/lang/")) {
                        uncheckedJavaLang.add(target);
                        continue;
                    }
                    checked++;
                    boolean exists = member == null ? check.frameworkClass(target) != null
                        : check.frameworkHasMember(target, member);
                    if (exists) continue;
                    String what = member == null ? target : target + "." + member;
                    for (String where : entry.getValue()) {
                        if (c.classRequiresApi || c.methodsRequiringApi.contains(where)) {
                            guarded.add(what + " in " + c.name);
                        } else if (reported.add(c.name + "." + where + " " + what)) {
                            System.out.printf("ABOVE API %d: %s %s, in %s.%s%n", minSdk, kind, what, c.name, where);
                            unguarded++;
                        }
                    }
                }
            }
            for (String g : guarded) System.out.println("guarded (@RequiresApi, reached under SDK_INT): " + g);
            for (String u : check.uncheckedInherited) System.out.println("unchecked (inherited from java.lang): " + u);
            System.out.println("unchecked (java.lang, not in the framework jar): " + String.join(" ", uncheckedJavaLang));
            System.out.printf("api-level: %d classes, %d platform references checked against API %d, %d above it "
                + "and guarded, %d unguarded; unchecked: %d java.lang classes, %d members inherited from them%n",
                classes.size(), checked, minSdk, guarded.size(), unguarded, uncheckedJavaLang.size(),
                check.uncheckedInherited.size());
        }
        System.exit(unguarded == 0 ? 0 : 1);
    }
}
