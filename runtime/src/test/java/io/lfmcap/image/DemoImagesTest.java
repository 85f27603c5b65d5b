package io.lfmcap.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lfmcap.model.ProcessorConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

class DemoImagesTest {

    @Test
    void listsTheSixBundledImages() {
        assertEquals(List.of("sunset-lake-512x512.jpg", "street-houses-640x480.jpg", "desk-laptop-1024x768.jpg",
                "skyline-wide-2000x200.jpg", "solids-gray-800x600.jpg", "logo-rgba-400x300.png"), DemoImages.list());
    }

    @Test
    void eachDecodesAtTheSizeInItsName() {
        ImageDecoder decoder = new ImageDecoder();
        for (String name : DemoImages.list()) {
            RgbImage image = decoder.decode(DemoImages.bytes(name), name);
            String size = name.substring(name.lastIndexOf('-') + 1, name.lastIndexOf('.'));
            assertEquals(size, image.width() + "x" + image.height(), name);
        }
    }

    @Test
    void theyCoverSingleResizedTiledAndWideLayouts() {
        ImageProcessor processor = new ImageProcessor(ProcessorConfig.defaults());
        int[] tokens = DemoImages.list().stream().mapToInt(name -> {
            RgbImage image = new ImageDecoder().decode(DemoImages.bytes(name), name);
            return processor.layout(image.width(), image.height()).numImageTokens(16, 2);
        }).toArray();
        assertEquals("[256, 234, 1770, 250, 234, 108]", java.util.Arrays.toString(tokens));
    }

    @Test
    void unknownNameIsRefusedWithTheList() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DemoImages.bytes("cat.jpg"));
        assertEquals(true, e.getMessage().contains("sunset-lake-512x512.jpg"));
    }
}
