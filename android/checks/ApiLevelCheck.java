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
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;

/**
 * Proves that the Android library calls nothing above its minSdk without checking the API level first:
 * the same question Android Lint's NewApi check answers, asked of the compiled classes.
 *
 * <p>Usage: {@code java -cp asm.jar ApiLevelCheck.java MIN_SDK ANDROID_ALL_MIN_JAR CLASSES_DIR}
 *
 * <p>Every class, method and field that the library's bytecode references in {@code android.*},
 * {@code dalvik.*} or a {@code java.*} package that the framework jar of the minimum API level carries
 * (Robolectric's android-all, the real AOSP framework; its {@code java.util}, {@code java.io},
 * {@code java.nio}… are Android's own libcore) must exist there, looked up through superclasses and
 * interfaces the way the JVM resolves it. A reference that does not is allowed only inside a class or
 * method annotated {@code @RequiresApi(N)} (androidx), and such a class may be used only from a method
 * that reads {@code Build.VERSION.SDK_INT}, the guard. {@code java.lang.*} is not in that jar (Robolectric
 * runs on the JDK's), so references there are listed as unchecked, not passed.
 *
 * <p>Prints one line per finding and exits 1 if any reference is unguarded.
 */
public final class ApiLevelCheck {
    private static final String REQUIRES_API = "Landroidx/annotation/RequiresApi;";
    private static final String SDK_INT_OWNER = "android/os/Build$VERSION";

    /** One class of the framework jar: what it declares and what it inherits from. */
    private record FrameworkClass(String superName, List<String> interfaces, Set<String> members) {}

    private final ZipFile framework;
    private final Set<String> frameworkPackages = new TreeSet<>();
    private final Map<String, FrameworkClass> cache = new HashMap<>();

    private ApiLevelCheck(ZipFile framework) {
        this.framework = framework;
        framework.stream().forEach(entry -> {
            String name = entry.getName();
            int slash = name.lastIndexOf('/');
            if (name.endsWith(".class") && slash > 0) frameworkPackages.add(name.substring(0, slash));
        });
    }

    private FrameworkClass frameworkClass(String internalName) {
        return cache.computeIfAbsent(internalName, name -> {
            var entry = framework.getEntry(name + ".class");
            if (entry == null) return null;
            try (InputStream in = framework.getInputStream(entry)) {
                var members = new TreeSet<String>();
                var reader = new ClassReader(in);
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
                return new FrameworkClass(reader.getSuperName(), List.of(reader.getInterfaces()), members);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
    }

    /** Whether the framework jar decides this owner: Android's own packages and the libcore it carries. */
    private boolean checkable(String owner) {
        if (owner.startsWith("android/") || owner.startsWith("dalvik/")) return true;
        int slash = owner.lastIndexOf('/');
        return owner.startsWith("java") && slash > 0 && frameworkPackages.contains(owner.substring(0, slash));
    }

    /** Resolves a member the way the JVM does: the class, its superclasses, then its interfaces. */
    private boolean hasMember(String owner, String member) {
        FrameworkClass c = frameworkClass(owner);
        if (c == null) return false;
        if (c.members().contains(member)) return true;
        if (c.superName() != null && hasMember(c.superName(), member)) return true;
        for (String i : c.interfaces()) if (hasMember(i, member)) return true;
        if (c.superName() == null || c.superName().equals("java/lang/Object")) return OBJECT_METHODS.contains(member);
        // A superclass in java.lang other than Object (Thread, Exception, Enum…) is not in the jar:
        // what it declares cannot be decided here.
        if (!checkable(c.superName())) {
            uncheckedInherited.add(owner + "." + member);
            return true;
        }
        return false;
    }

    /** What every class inherits from java.lang.Object, which the framework jar does not carry. */
    private static final Set<String> OBJECT_METHODS = Set.of("hashCode()I", "equals(Ljava/lang/Object;)Z",
        "toString()Ljava/lang/String;", "getClass()Ljava/lang/Class;", "notify()V", "notifyAll()V", "wait()V",
        "wait(J)V", "wait(JI)V", "clone()Ljava/lang/Object;", "finalize()V");

    private final Set<String> uncheckedInherited = new TreeSet<>();

    /** What one class of the library references, and whether its code reads SDK_INT. */
    private static final class Scanned {
        final String name;
        boolean classRequiresApi;
        final Map<String, Boolean> methodRequiresApi = new HashMap<>();
        final Map<String, Boolean> methodReadsSdkInt = new HashMap<>();
        /** reference → the methods that make it ("" for the class's own signature). */
        final Map<String, Set<String>> references = new TreeMap<>();

        Scanned(String name) {
            this.name = name;
        }

        void reference(String what, String where) {
            references.computeIfAbsent(what, k -> new TreeSet<>()).add(where);
        }
    }

    private static Scanned scan(Path file) throws IOException {
        var reader = new ClassReader(Files.readAllBytes(file));
        var scanned = new Scanned(reader.getClassName());
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
                for (Type t : Type.getArgumentTypes(desc)) typeReference(t, where);
                typeReference(Type.getReturnType(desc), where);
                return new MethodVisitor(Opcodes.ASM9) {
                    @Override
                    public AnnotationVisitor visitAnnotation(String descriptor, boolean visible) {
                        if (descriptor.equals(REQUIRES_API)) scanned.methodRequiresApi.put(where, true);
                        return null;
                    }

                    @Override
                    public void visitMethodInsn(int op, String owner, String n, String d, boolean itf) {
                        scanned.reference("method " + owner + "." + n + d, where);
                    }

                    @Override
                    public void visitFieldInsn(int op, String owner, String n, String d) {
                        if (owner.equals(SDK_INT_OWNER) && n.equals("SDK_INT")) scanned.methodReadsSdkInt.put(where, true);
                        scanned.reference("field " + owner + "." + n, where);
                    }

                    @Override
                    public void visitTypeInsn(int op, String type) {
                        typeReference(Type.getObjectType(type), where);
                    }
                };
            }

            @Override
            public FieldVisitor visitField(int access, String name, String desc, String sig, Object value) {
                typeReference(Type.getType(desc), "");
                return null;
            }

            private void typeReference(Type type, String where) {
                while (type.getSort() == Type.ARRAY) type = type.getElementType();
                if (type.getSort() == Type.OBJECT) scanned.reference("class " + type.getInternalName(), where);
            }
        }, 0);
        return scanned;
    }

    private static String ownerOf(String reference) {
        String rest = reference.substring(reference.indexOf(' ') + 1);
        if (reference.startsWith("class ")) return rest;
        return rest.substring(0, rest.lastIndexOf('.', rest.contains("(") ? rest.indexOf('(') : rest.length()));
    }

    private boolean exists(String reference) {
        String owner = ownerOf(reference);
        if (frameworkClass(owner) == null) return false;
        if (reference.startsWith("class ")) return true;
        String member = reference.substring(reference.indexOf(' ') + 1 + owner.length() + 1);
        return hasMember(owner, member);
    }

    public static void main(String[] args) throws IOException {
        int minSdk = Integer.parseInt(args[0]);
        List<Scanned> classes = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Path.of(args[2]))) {
            for (Path file : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".class"))::iterator) {
                classes.add(scan(file));
            }
        }
        var guardedClasses = new TreeSet<String>();
        for (Scanned c : classes) if (c.classRequiresApi) guardedClasses.add(c.name);

        int unguarded = 0;
        var guarded = new TreeSet<String>();
        var unchecked = new TreeSet<String>();
        var reported = new TreeSet<String>();
        int checked = 0;
        try (var framework = new ZipFile(args[1])) {
            var check = new ApiLevelCheck(framework);
            for (Scanned c : classes) {
                for (var entry : c.references.entrySet()) {
                    String reference = entry.getKey();
                    String owner = ownerOf(reference);
                    // A class of the library annotated @RequiresApi: only from a method that reads SDK_INT.
                    if (guardedClasses.contains(owner) && !c.classRequiresApi) {
                        for (String where : entry.getValue()) {
                            if (c.methodRequiresApi.getOrDefault(where, false)) continue;
                            if (!c.methodReadsSdkInt.getOrDefault(where, false) && reported.add(c.name + where + owner)) {
                                System.out.printf("UNGUARDED %s.%s uses @RequiresApi class %s without reading SDK_INT%n",
                                    c.name, where, owner);
                                unguarded++;
                            }
                        }
                        continue;
                    }
                    if (owner.startsWith("java/lang/")) {
                        unchecked.add(owner);
                        continue;
                    }
                    if (!check.checkable(owner)) continue;
                    checked++;
                    if (check.exists(reference)) continue;
                    for (String where : entry.getValue()) {
                        if (c.classRequiresApi || c.methodRequiresApi.getOrDefault(where, false)) {
                            guarded.add(reference + " in " + c.name);
                        } else {
                            System.out.printf("ABOVE API %d: %s, in %s.%s%n", minSdk, reference, c.name, where);
                            unguarded++;
                        }
                    }
                }
            }
            for (String g : guarded) System.out.println("guarded (@RequiresApi, created under SDK_INT): " + g);
            for (String u : check.uncheckedInherited) System.out.println("unchecked (inherited from java.lang): " + u);
            System.out.printf("api-level: %d classes, %d framework references checked against API %d, %d above it "
                + "and guarded, %d unguarded; unchecked: %d java.lang classes (not in the framework jar), %d members "
                + "inherited from them%n", classes.size(), checked, minSdk, guarded.size(), unguarded, unchecked.size(),
                check.uncheckedInherited.size());
        }
        System.exit(unguarded == 0 ? 0 : 1);
    }
}
