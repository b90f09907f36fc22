package org.transfer4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.transfer4j.inference.PredictorTestModels;
import org.transfer4j.inference.Predictor;

/**
 * The page in a real browser: headless Chromium (Debian's {@code chromium} and {@code chromium-driver}, driven by
 * Selenium through the system's chromedriver; nothing is downloaded) loads {@code /}, uploads a photo through the file
 * input, and the top label the page shows is the Predictor's. Skips with a reason where Chromium is absent.
 *
 * <p>{@link #screenshotOfAGivenModel} refreshes the README's screenshot on request.
 */
class BrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    @TempDir
    static Path dir;
    static WebDriver browser;
    static ChromeDriverService driverService;

    @BeforeAll
    static void openBrowser() throws IOException {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER), "skipped: no " + CHROMIUM
                + " or " + CHROMEDRIVER + " (Debian: apt-get install chromium chromium-driver; .ci/run does it)");
        // The driver is given explicitly, so Selenium Manager never runs (it would try to download one).
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        driverService = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().withLogOutput(java.io.OutputStream.nullOutputStream()).build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,860", "--no-first-run", "--disable-extensions", "--user-data-dir="
                        + dir.resolve("chromium-profile"));
        browser = new ChromeDriver(driverService, options);
        browser.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(60));
    }

    @AfterAll
    static void closeBrowser() {
        if (browser != null) {
            browser.quit();
        }
        if (driverService != null) {
            driverService.stop();
        }
    }

    /** A hymenoptera photo from ../shared when present, else a PNG written here. */
    private static Path photo() throws IOException {
        Path shared = Path.of(System.getProperty("transfer4j.shared", "../shared"), "data", "hymenoptera", "val",
                "bees");
        if (Files.isDirectory(shared)) {
            try (Stream<Path> files = Files.list(shared)) {
                List<Path> jpgs = files.filter(p -> p.toString().endsWith(".jpg")).sorted().toList();
                if (!jpgs.isEmpty()) {
                    return jpgs.get(0);
                }
            }
        }
        Path png = dir.resolve("photo.png");
        Files.write(png, ServeTestKit.png(21, 320, 240));
        return png;
    }

    private static void waitForState(String state) {
        new WebDriverWait(browser, Duration.ofSeconds(60)).until(d -> {
            String s = d.findElement(By.tagName("body")).getAttribute("data-state");
            if ("error".equals(s) && !"error".equals(state)) {
                throw new AssertionError("the page shows an error: " + d.findElement(By.id("error")).getText());
            }
            return state.equals(s);
        });
    }

    @Test
    void uploadsAPhotoAndShowsThePredictorsTopLabel() throws Exception {
        Path photo = photo();
        try (Predictor predictor = ServeTestKit.predictor(dir.resolve("model"));
             ModelServer server = ModelServer.start(predictor, ServerOptions.builder().optPort(0).build())) {
            browser.get(server.uri().toString());
            waitForState("ready");
            assertEquals("model.onnx", browser.findElement(By.id("model-name")).getText());
            assertEquals(String.valueOf(predictor.classes().size()), browser.findElement(By.id("m-count")).getText());

            browser.findElement(By.id("file")).sendKeys(photo.toRealPath().toString());
            waitForState("done");
            String expected = predictor.predict(photo).label();
            assertEquals(expected, browser.findElement(By.id("top-label")).getText(), "photo " + photo);
            List<WebElement> bars = browser.findElements(By.cssSelector("#bars li"));
            assertEquals(predictor.classes().size(), bars.size(), "top-5 capped at the 3 classes");
            assertEquals(expected, bars.get(0).getAttribute("data-label"));
            assertTrue(browser.findElement(By.id("preview")).isDisplayed(), "the photo is shown");

        }
    }

    /**
     * docs/serve.png: {@code -Dtransfer4j.serve.screenshot=docs/serve.png -Dtransfer4j.serve.screenshot.model=M.onnx
     * [-Dtransfer4j.serve.screenshot.image=bee.jpg]} loads that model, uploads the photo and saves the page.
     */
    @Test
    void screenshotOfAGivenModel() throws Exception {
        String shot = System.getProperty("transfer4j.serve.screenshot", "");
        String model = System.getProperty("transfer4j.serve.screenshot.model", "");
        assumeTrue(!shot.isBlank() && !model.isBlank(), "skipped: no -Dtransfer4j.serve.screenshot and "
                + "-Dtransfer4j.serve.screenshot.model (only run to refresh docs/serve.png)");
        String image = System.getProperty("transfer4j.serve.screenshot.image", "");
        Path photo = image.isBlank() ? photo() : Path.of(image);
        try (Predictor predictor = Predictor.builder(Path.of(model)).optBatchSize(8).build();
             ModelServer server = ModelServer.start(predictor, ServerOptions.builder().optPort(0).build())) {
            browser.get(server.uri().toString());
            waitForState("ready");
            browser.findElement(By.id("file")).sendKeys(photo.toRealPath().toString());
            waitForState("done");
            assertEquals(predictor.predict(photo).label(), browser.findElement(By.id("top-label")).getText());
            Files.write(Path.of(shot), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
        }
    }

    @Test
    void anImageNetSizedModelShowsOnlyTheTopK() throws Exception {
        PredictorTestModels.Tiny thousand = PredictorTestModels.write(dir.resolve("imagenet"), 7, 16, 8, 6, 1000,
                false);
        try (Predictor predictor = Predictor.builder(thousand.composed()).optBatchSize(8).optThreads(1).build();
             ModelServer server = ModelServer.start(predictor, ServerOptions.builder().optPort(0).build())) {
            browser.get(server.uri().toString());
            waitForState("ready");
            assertEquals("1000", browser.findElement(By.id("m-count")).getText());
            assertEquals(1, browser.findElements(By.cssSelector("#classes > details")).size(),
                    "1000 class names fold away");
            Path png = dir.resolve("k.png");
            Files.write(png, ServeTestKit.png(22, 64, 48));
            browser.findElement(By.id("file")).sendKeys(png.toRealPath().toString());
            waitForState("done");
            assertEquals(5, browser.findElements(By.cssSelector("#bars li")).size(), "top-5 of 1000 classes");
            assertEquals(predictor.predict(png).label(), browser.findElement(By.id("top-label")).getText());
        }
    }

    static {
        // Selenium Manager must never try the network: the driver path above is explicit, and offline mode is on.
        System.setProperty("SE_OFFLINE", "true");
    }
}
