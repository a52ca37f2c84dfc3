package com.kmeroccase.consent;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.Assert;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The API as a Java app sees it: static open, overloads, lambdas, checked-looking exceptions. */
public class JavaInteropTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void usableFromJava() throws Exception {
        String policy = new String(Files.readAllBytes(Paths.get("policies/kmeroccase.json")), StandardCharsets.UTF_8);
        try (KmerConsent consent = KmerConsent.open(new File(tmp.getRoot(), "consent.db"), policy)) {
            Assert.assertTrue(consent.getStatus().getNeedsPrompt());

            AtomicInteger starts = new AtomicInteger();
            ConsentRegistration registration =
                consent.whenAllowed("firebase_analytics", Runnable::run, null, starts::incrementAndGet);
            List<ConsentSnapshot> seen = Collections.synchronizedList(new ArrayList<>());
            ConsentRegistration listener = consent.addListener(Runnable::run, seen::add);

            consent.save(true); // @JvmOverloads: statistics only
            Assert.assertTrue(consent.canStart("firebase_analytics"));
            Assert.assertFalse(consent.canStart("google_mobile_ads"));
            Assert.assertEquals(VerdictReason.REFUSED, consent.check("google_mobile_ads").getReason());
            Assert.assertEquals(1, starts.get());
            Assert.assertEquals(2, seen.size());

            try {
                consent.save(Collections.singletonMap(Category.ESSENTIAL, false));
                Assert.fail("refusing essential must throw");
            } catch (KmerConsentException.EssentialCannotBeRefused expected) {
                Assert.assertEquals("the essential category cannot be refused", expected.toString());
            }
            registration.close();
            listener.close();
        }
    }

    @Test
    public void openedInTheBackgroundFromJava() throws Exception {
        String policy = new String(Files.readAllBytes(Paths.get("policies/kmeroccase.json")), StandardCharsets.UTF_8);
        // No checked exception: a failed open reaches onReady, not the caller.
        KmerConsent consent = KmerConsent.openInBackground(new File(tmp.getRoot(), "consent.db"), policy);
        CountDownLatch ready = new CountDownLatch(1);
        AtomicReference<Throwable> error = new AtomicReference<>();
        consent.onReady(Runnable::run, failure -> {
            error.set(failure);
            ready.countDown();
        });
        Assert.assertTrue(ready.await(10, TimeUnit.SECONDS));
        Assert.assertNull(error.get());
        Assert.assertTrue(consent.isReady());
        Assert.assertTrue(consent.getStatus().getNeedsPrompt());
        consent.close();
    }
}
