package io.lfmcap.text;

/**
 * The training text of {@link TinyTokenizer}: short captions and captioning requests, so the tiny
 * vocabulary covers the words tests use ("Describe this image.", "user", "assistant").
 */
final class TinyCorpus {
    private TinyCorpus() {}

    static final String TEXT = """
            user
            Describe this image.
            assistant
            The image shows a cat sitting on a wooden table next to a window.
            user
            Describe this image.
            assistant
            A dog is running across a green field under a blue sky.
            user
            Describe this image in detail.
            assistant
            In this image, we see a red car parked on the side of a quiet street.
            user
            What is in this picture?
            assistant
            There is a small boat floating on a calm lake with mountains in the background.
            user
            Describe this image.
            assistant
            A woman is holding an umbrella while walking through the rain in the city.
            user
            Write a short caption for this image.
            assistant
            Two children are playing with a ball on a sandy beach at sunset.
            user
            Describe this image.
            assistant
            The picture shows a bowl of fresh fruit with apples, oranges and bananas.
            user
            What do you see in this image?
            assistant
            I see a tall building with many windows and a clock on the top.
            user
            Describe this image.
            assistant
            A man is riding a bicycle down a narrow road lined with trees.
            user
            Give a detailed description of the image.
            assistant
            The image shows a kitchen with white cabinets, a stove and a large window.
            The photo was taken in the morning; the light is soft and warm.
            A group of people are sitting around a table, eating dinner and talking.
            There are 3 birds on the fence and 12 flowers in the garden.
            The sign says "Open 24 hours" and the price is $9.99.
            A black and white photo of an old train station in 1950.
            The cat's eyes are green, and it's looking at the camera.
            We're looking at a street market: fruit, vegetables, bread and cheese.
            Describe this image. Describe this image. Describe this image.
            this image, this picture, this photo, the image, an image, the scene.
            A plate of pasta with tomato sauce and basil on a white plate.
            A snowy mountain peak under a clear sky; the snow is bright white.
            An airplane is flying above the clouds at sunrise.
            The dog is brown and white, with a red collar around its neck.
            A person is reading a book on a bench in the park.
            Cars and buses wait at a traffic light in a busy city street.
            The room has a sofa, a lamp, a rug and a painting on the wall.
            A horse stands in a field of yellow flowers near a small house.
            The screen shows a chart with numbers from 1 to 100.
            A close-up of a coffee cup on a saucer, with steam rising from it.
            Three boats are tied to a wooden dock on a sunny day.
            The text in the image reads: "Welcome to the museum".
            A child in a blue shirt is smiling and holding a toy.
            The sky is dark and full of stars over the desert.
            Describe what is happening in this image.
            """;
}
