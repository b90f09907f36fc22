/**
 * API: {@link org.transfer4j.serve.ModelServer}, {@link org.transfer4j.serve.ServerOptions} and
 * {@link org.transfer4j.serve.ServerStats}: a {@code Predictor} behind HTTP with dynamic batching, a bounded queue,
 * health and Prometheus metrics endpoints and a page to try the model. Everything else here is internal
 * (package-private): routing, the batcher, admission, metrics, the page's assets.
 *
 * <p>The HTTP server is Jetty 12's core server ({@code jetty-server}, without the servlet layer): maintained by the
 * Eclipse Foundation with regular security releases, four small jars plus slf4j-api, no reflection or annotation
 * scanning, asynchronous responses (the batcher answers requests from its own thread, so no request thread waits
 * idle for a batch), a graceful-shutdown handler that drains requests in flight, and a multipart parser. Javalin
 * would add Kotlin's standard library on top of the same Jetty; Undertow core brings JBoss logging, XNIO and its
 * thread model for no gain here.
 *
 * <p>This artifact depends on {@code transfer4j-inference} only: never on training (ND4J, Tribuo's trainers,
 * transfer4j-head); its build fails if one of them enters its dependency tree.
 */
package org.transfer4j.serve;
