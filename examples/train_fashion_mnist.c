/* Trains the default MLP on Fashion-MNIST through the library API and prints the test
 * accuracy after each epoch. Build against an installed stochopt with
 *   cc train_fashion_mnist.c $(pkg-config --cflags --libs stochopt) -o train
 * or with CMake through examples/CMakeLists.txt. */
#include <stdio.h>

#include <stochopt/stochopt.h>

static int print_epoch(void *user, const so_epoch_record *r)
{
    (void)user;
    printf("epoch %ld: train loss %.4f, test accuracy %.4f\n", r->epoch, r->train_loss,
           r->test_accuracy);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    so_dataset *train = NULL, *test = NULL;
    so_train_result result;

    if (so_idx_dir_read(dir, &train, &test) != SO_OK) {
        fprintf(stderr, "train_fashion_mnist: %s\n", so_last_error());
        return 1;
    }
    so_train_config cfg = so_train_config_default();
    cfg.epochs = 2;
    cfg.on_epoch = print_epoch;
    int status = so_train(&cfg, train, test, &result);
    if (status != SO_OK)
        fprintf(stderr, "train_fashion_mnist: %s\n", so_last_error());
    so_train_result_clear(&result);
    so_dataset_free(&train);
    so_dataset_free(&test);
    return status == SO_OK ? 0 : 1;
}
