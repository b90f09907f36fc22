package org.transfer4j.serve;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs an action on SIGTERM and SIGINT instead of letting them start JVM shutdown. Needed for a graceful drain:
 * ONNX Runtime registers its own shutdown hook that frees its native environment, and shutdown hooks run
 * concurrently in no set order, so a drain started from a hook races that hook and a model run still in flight
 * crashes the JVM (SIGSEGV in libonnxruntime, seen in ServeToolsTest). Trapping the signal lets the drain finish
 * first; the caller then exits normally and the hooks run on an idle process.
 *
 * <p>Uses {@code sun.misc.Signal} (module jdk.unsupported, present in every OpenJDK build) through reflection, so the
 * code compiles without internal-API warnings and degrades to "not installed" where it is missing.
 */
final class TerminationSignals {
    private static final Logger LOG = Logger.getLogger(TerminationSignals.class.getName());

    private TerminationSignals() {
    }

    /** Installs {@code action} for TERM and INT; returns false when the JVM offers no signal API. */
    static boolean install(Runnable action) {
        try {
            Class<?> signal = Class.forName("sun.misc.Signal");
            Class<?> handlerType = Class.forName("sun.misc.SignalHandler");
            Method handle = signal.getMethod("handle", signal, handlerType);
            InvocationHandler onSignal = (proxy, method, args) -> {
                if (method.getName().equals("handle")) {
                    action.run();
                    return null;
                }
                return switch (method.getName()) {
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> "transfer4j termination handler";
                };
            };
            Object handler = Proxy.newProxyInstance(TerminationSignals.class.getClassLoader(),
                    new Class<?>[] {handlerType}, onSignal);
            for (String name : new String[] {"TERM", "INT"}) {
                handle.invoke(null, signal.getConstructor(String.class).newInstance(name), handler);
            }
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.log(Level.FINE, "no signal API; SIGTERM will stop the JVM without draining", e);
            return false;
        }
    }
}
