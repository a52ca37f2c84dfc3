// The README's Java code: compiled by javac against the library (and the Android framework jar), and the
// part that runs on any JVM run against the native library.
package com.kmeroccase.consent.readme;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.junit.Assert;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

// README: java
import android.content.Context;
import com.kmeroccase.consent.KmerConsent;
import com.kmeroccase.consent.KmerConsentException;
import com.kmeroccase.consent.android.KmerConsentAndroid;

final class ConsentSetup {
    // Android: in Application.onCreate; returns at once, ready later.
    // (Any JVM: KmerConsent.openInBackground(new File(dir, "kmer-consent.db"), policy).)
    static KmerConsent open(Context context, String policy) throws KmerConsentException {
        KmerConsent consent = KmerConsentAndroid.openInBackground(context, policy);
        consent.onReady(error -> {
            if (error != null) reportOpenFailure(error); // the gate stays shut
        });
        return gated(consent);
    }

    static KmerConsent gated(KmerConsent consent) throws KmerConsentException {
        consent.whenAllowed("google_mobile_ads", () -> startAds());
        consent.addListener(snapshot -> {
            if (!snapshot.getSdks().get("google_mobile_ads").getAllowed()) hideAdViews();
        });
        return consent;
    }

    static void startAds() { /* MobileAds.initialize(context) */ }
    static void hideAdViews() { /* … */ }
    static void reportOpenFailure(Throwable error) { /* the app's crash reporter */ }
}
// END README

public class ReadmeJavaTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void theReadmeJavaCodeGatesOnTheJvm() throws Exception {
        String policy = new String(Files.readAllBytes(Paths.get("policies/kmeroccase.json")), StandardCharsets.UTF_8);
        try (KmerConsent consent = ConsentSetup.gated(KmerConsent.open(new File(tmp.getRoot(), "kmer-consent.db"), policy))) {
            Assert.assertFalse(consent.canStart("google_mobile_ads"));
            consent.acceptAll();
            Assert.assertTrue(consent.canStart("google_mobile_ads"));
        }
    }
}
