from seemup._entry import main

main()
